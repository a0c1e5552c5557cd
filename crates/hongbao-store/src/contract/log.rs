//! Cases about the transparency log: entries and checkpoints commit with their batch, continue
//! the stored log exactly, and read back by index, transfer and packet.

use hongbao_core::event::{Event, EventKind};
use hongbao_core::ledger::Transfer;
use hongbao_core::log::{self, LogRecord};
use hongbao_core::ops::{Command, PacketSpec};
use hongbao_core::world::Write;
use hongbao_core::{Changes, Fen, PacketId, TransferId, UserId};

use super::expect::{assert_store_holds_world, comparable, dump, latest_checkpoint, log_size, record};
use super::scenario::{Scenario, bounded, checkpoint, full_scenario, len_u64, log_rows, refused};
use crate::{Commit, LogRow, Store};

/// A scenario with a log: two users, a deposit, a group and a lucky packet, committed one
/// command at a time.
async fn small_log(store: &dyn Store, s: &mut Scenario) -> (UserId, UserId, PacketId) {
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let lucky = s.send(store, alice, PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) }, 0).await;
    (alice, bob, lucky)
}

/// Runs, without committing, commands whose log has transfers and events interleaved: a
/// deposit, a claim (its transfer, then its event) and a transfer.
fn mixed_batch(s: &mut Scenario, alice: UserId, bob: UserId, lucky: PacketId) -> Changes {
    s.run(Command::Deposit { user: bob, amount: Fen::new(500) });
    s.run(Command::ClaimPacket { actor: bob, packet: lucky });
    s.run(Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(200),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    });
    let changes = s.take_changes();
    assert!(changes.log.len() >= 4, "three transfers and an event: {} records", changes.log.len());
    changes
}

/// The log rows and the checkpoint of a batch are written in the same transaction as its
/// changes: a batch that fails for any reason, in its changes or in its checkpoint, leaves no
/// row and no checkpoint behind, and a batch that commits leaves all of them.
pub async fn log_rows_and_a_checkpoint_commit_atomically_with_the_changes(store: &dyn Store) {
    let mut s = Scenario::new(20);
    let (alice, bob, lucky) = small_log(store, &mut s).await;
    let stored_user = s.world.user(alice).ok().flatten().cloned().expect("alice");
    let changes = mixed_batch(&mut s, alice, bob, lucky);
    let mut batch = s.batch(changes, vec![record("key_alice", "k1", s.now)]);
    let size_after = s.log_size() + len_u64(batch.log.len());
    batch.checkpoint = Some(checkpoint(size_after, s.now));
    let before = comparable(&dump(store).await);

    let mut spoiled = batch.clone();
    spoiled.changes.users.push((Write::Insert, stored_user));
    assert!(refused(store, spoiled).await, "a batch inserting an existing user must not commit");
    assert_eq!(comparable(&dump(store).await), before, "the failed batch wrote something");
    let mut spoiled = batch.clone();
    spoiled.checkpoint = Some(checkpoint(size_after + 1, s.now));
    assert!(refused(store, spoiled).await, "a checkpoint past the log must not commit");
    assert_eq!(comparable(&dump(store).await), before, "the batch with a bad checkpoint wrote something");
    assert_eq!(log_size(store).await, s.log_size());
    assert_eq!(latest_checkpoint(store).await, None);

    s.save(store, batch.clone()).await;
    assert_store_holds_world(store, &s.world).await;
    let after = dump(store).await;
    assert_eq!(after.log, s.log, "every log row");
    assert_eq!(after.log[after.log.len() - batch.log.len()..], batch.log[..], "the batch's rows at the end");
    assert_eq!(after.events, s.events);
    assert_eq!(after.checkpoints, s.checkpoints);
    assert!(after.idempotency.contains(&batch.idempotency[0]));
    assert_eq!(log_size(store).await, size_after);
    assert_eq!(latest_checkpoint(store).await, batch.checkpoint);
}

/// The entries of a batch continue the stored log exactly: a batch whose first index leaves a
/// gap, repeats a stored entry or starts again from 0, or whose own indexes skip or repeat,
/// fails as a whole.
pub async fn log_indexes_must_continue_exactly_from_the_current_size(store: &dyn Store) {
    let mut s = Scenario::new(21);
    let (alice, bob, lucky) = small_log(store, &mut s).await;
    assert!(s.log_size() >= 4, "a log to continue");
    let changes = mixed_batch(&mut s, alice, bob, lucky);
    let batch = s.batch(changes, Vec::new());
    let before = comparable(&dump(store).await);

    type Spoil = fn(&mut Vec<LogRow>);
    let spoilers: [(&str, Spoil); 6] = [
        ("a gap before its first entry", |log| log.iter_mut().for_each(|row| row.index += 1)),
        ("a repeat of the last stored entry", |log| log.iter_mut().for_each(|row| row.index -= 1)),
        ("indexes starting again from 0", |log| (0..).zip(log.iter_mut()).for_each(|(i, row)| row.index = i)),
        ("a gap inside the batch", |log| log[2..].iter_mut().for_each(|row| row.index += 1)),
        ("a repeat inside the batch", |log| log[2..].iter_mut().for_each(|row| row.index -= 1)),
        ("its last entry given twice", |log| log.push(log[log.len() - 1].clone())),
    ];
    for (what, spoil) in spoilers {
        let mut spoiled = batch.clone();
        spoil(&mut spoiled.log);
        assert!(refused(store, spoiled).await, "a batch with {what} must not commit");
        assert_eq!(comparable(&dump(store).await), before, "a batch with {what} wrote something");
    }

    s.save(store, batch).await;
    let stored = dump(store).await.log;
    assert_eq!(stored, s.log);
    assert!(stored.iter().zip(0..).all(|(row, i)| row.index == i), "indexes 0..n");
    assert_store_holds_world(store, &s.world).await;
}

/// `log_size` in a write transaction is the number of committed entries, where the engine
/// numbers the entries of the batch it then commits in the same transaction; a batch dropped or
/// refused does not change it.
pub async fn log_size_counts_the_committed_entries_inside_a_write_transaction(store: &dyn Store) {
    let mut s = Scenario::new(22);
    assert_eq!(log_size(store).await, 0);
    let (alice, _, _) = small_log(store, &mut s).await;
    assert_eq!(log_size(store).await, s.log_size());
    assert!(s.log_size() > 0);

    // As the engine does: ask for the size, number the rows from it, commit, all in one
    // transaction.
    s.run(Command::Deposit { user: alice, amount: Fen::new(700) });
    let changes = s.take_changes();
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    let size = bounded("log_size", tx.log_size()).await.expect("log_size");
    assert_eq!(size, s.log_size());
    let log = log_rows(size, &changes.log);
    let batch = Commit { changes, log, ..Commit::default() };
    bounded("commit", tx.commit(batch.clone())).await.expect("the commit succeeds");
    s.remember(batch);
    assert_eq!(log_size(store).await, s.log_size());

    // A write transaction dropped without a commit, and a batch refused, leave it as it was.
    s.run(Command::Deposit { user: alice, amount: Fen::new(800) });
    let changes = s.take_changes();
    let mut batch = s.batch(changes, Vec::new());
    let tx = bounded("write", store.write()).await.expect("a write begins");
    drop(tx);
    assert_eq!(log_size(store).await, s.log_size());
    let mut repeated = batch.clone();
    repeated.log.iter_mut().for_each(|row| row.index -= 1);
    assert!(refused(store, repeated).await);
    assert_eq!(log_size(store).await, s.log_size());
    batch.checkpoint = Some(checkpoint(s.log_size() + len_u64(batch.log.len()), s.now));
    s.save(store, batch).await;
    assert_eq!(log_size(store).await, s.log_size());
    assert_eq!(dump(store).await.log, s.log);
}

async fn log_entries(store: &dyn Store, start: u64, limit: u32) -> Vec<LogRow> {
    bounded("log_entries", store.log_entries(start, limit)).await.expect("log_entries succeeds")
}

/// `log_entries` reads the log from `start` in index order, at most `limit` entries: following
/// it page after page yields the whole log once, for any page size.
pub async fn log_entries_pages_through_the_whole_log_in_index_order(store: &dyn Store) {
    let mut s = Scenario::new(23);
    full_scenario(store, &mut s, false).await;
    let size = s.log_size();
    assert!(size > 40, "a log to page through: {size} entries");
    assert_eq!(log_entries(store, 0, 100_000).await, s.log, "the whole log");
    for limit in [1, 2, 3, 7, 64] {
        let mut pages = Vec::new();
        let mut start = 0;
        loop {
            let page = log_entries(store, start, limit).await;
            assert!(page.len() <= limit as usize, "a page of {} entries with limit {limit}", page.len());
            let Some(last) = page.last() else { break };
            start = last.index + 1;
            pages.extend(page);
            assert!(pages.len() <= s.log.len(), "paging with limit {limit} does not end");
        }
        assert_eq!(pages, s.log, "pages of {limit} put together");
    }
    assert_eq!(log_entries(store, 5, 3).await, s.log[5..8].to_vec(), "from the middle");
    assert_eq!(log_entries(store, size - 1, 10).await, s.log[s.log.len() - 1..].to_vec(), "the last entry");
    assert!(log_entries(store, size, 10).await.is_empty(), "nothing at the size");
    assert!(log_entries(store, u64::MAX, 10).await.is_empty(), "nothing far past it");
    assert!(log_entries(store, 0, 0).await.is_empty(), "limit 0 gives nothing");
}

/// A transfer's entry is found by its id, and a packet's entries (its transfers and its
/// events, the reveal of a lucky one included) in index order, cut at `limit`.
pub async fn log_index_of_and_log_entries_of_packet_find_a_transfers_and_a_packets_entries(store: &dyn Store) {
    let mut s = Scenario::new(24);
    let cast = full_scenario(store, &mut s, false).await;

    let transfers: Vec<Transfer> = s.world.transfers().cloned().collect();
    assert!(transfers.len() > 10);
    for transfer in &transfers {
        let at = bounded("log_index_of", store.log_index_of(transfer.id)).await.expect("log_index_of");
        let index = at.unwrap_or_else(|| panic!("transfer {} has no log entry", transfer.id));
        let row = &s.log[usize::try_from(index).expect("an index fits")];
        assert_eq!(row.transfer_id, Some(transfer.id));
        let decoded = log::decode(&row.entry).expect("the entry decodes");
        assert_eq!(decoded.record, LogRecord::Transfer(transfer.clone()), "entry {index} records the transfer");
    }
    let nothing = TransferId::from_uuid(s.mint_uuid());
    assert_eq!(bounded("log_index_of", store.log_index_of(nothing)).await.expect("log_index_of"), None);

    for packet in [cast.lucky, cast.delayed, cast.exclusive, cast.recalled] {
        let expected: Vec<LogRow> = s.log.iter().filter(|row| row.packet_id == Some(packet)).cloned().collect();
        assert!(expected.len() >= 3, "packet {packet} has entries: {expected:?}");
        let of_packet = |limit| async move {
            bounded("log_entries_of_packet", store.log_entries_of_packet(packet, limit)).await.expect("succeeds")
        };
        assert_eq!(of_packet(1_000).await, expected, "the entries of packet {packet}");
        assert_eq!(of_packet(2).await, expected[..2].to_vec(), "the first two entries of packet {packet}");
        assert!(of_packet(0).await.is_empty());
    }
    let lucky = bounded("log_entries_of_packet", store.log_entries_of_packet(cast.lucky, 1_000)).await.expect("ok");
    let revealed = lucky.iter().any(|row| {
        matches!(
            log::decode(&row.entry).map(|e| e.record),
            Ok(LogRecord::Event(Event { what: EventKind::LuckySharesRevealed { .. }, .. }))
        )
    });
    assert!(revealed, "the expired lucky packet's reveal is among its entries");
    let nobody = PacketId::from_uuid(s.mint_uuid());
    let none = bounded("log_entries_of_packet", store.log_entries_of_packet(nobody, 10)).await.expect("succeeds");
    assert!(none.is_empty(), "no entries for a packet nobody sent");
}

/// The latest checkpoint is the one of the largest size, with its note exactly as committed; a
/// checkpoint may come in a batch that appends nothing.
pub async fn latest_checkpoint_is_the_largest_committed_one(store: &dyn Store) {
    let mut s = Scenario::new(25);
    assert_eq!(latest_checkpoint(store).await, None, "a new store has no checkpoint");
    let (alice, _, _) = small_log(store, &mut s).await;
    let first = checkpoint(2, s.now);
    s.save(store, Commit { checkpoint: Some(first.clone()), ..Commit::default() }).await;
    assert_eq!(latest_checkpoint(store).await, Some(first));

    s.advance_s(1);
    let second = checkpoint(s.log_size(), s.now);
    s.save(store, Commit { checkpoint: Some(second.clone()), ..Commit::default() }).await;
    assert_eq!(latest_checkpoint(store).await, Some(second.clone()));

    // Later commits without a checkpoint change nothing.
    s.deposit(store, alice, 1).await;
    assert_eq!(latest_checkpoint(store).await, Some(second));
    assert_eq!(dump(store).await.checkpoints, s.checkpoints);
}

/// A checkpoint must be larger than every stored one and no larger than the log after the
/// batch's own entries; one that is not fails its whole batch.
pub async fn checkpoints_must_grow_and_cover_no_more_than_the_log(store: &dyn Store) {
    let mut s = Scenario::new(26);
    let (alice, _, _) = small_log(store, &mut s).await;
    let stored = s.log_size();
    assert!(stored > 3);
    s.save(store, Commit { checkpoint: Some(checkpoint(3, s.now)), ..Commit::default() }).await;

    s.run(Command::Deposit { user: alice, amount: Fen::new(900) });
    let changes = s.take_changes();
    let batch = s.batch(changes, Vec::new());
    let appended = len_u64(batch.log.len());
    assert!(appended > 0);
    let before = comparable(&dump(store).await);
    for (what, size) in [
        ("the size of the stored checkpoint", 3),
        ("a size below the stored checkpoint", 2),
        ("a size past the log after the batch", stored + appended + 1),
        ("a size far past the log", u64::MAX),
    ] {
        let mut spoiled = batch.clone();
        spoiled.checkpoint = Some(checkpoint(size, s.now));
        assert!(refused(store, spoiled).await, "a checkpoint of {what} must not commit");
        assert_eq!(comparable(&dump(store).await), before, "a checkpoint of {what} let its batch write something");
    }
    let without_rows = Commit { checkpoint: Some(checkpoint(stored + 1, s.now)), ..Commit::default() };
    assert!(refused(store, without_rows).await, "a checkpoint cannot count entries that are not appended");

    // Exactly the log after the batch is fine, and so is a checkpoint between the two.
    let mut good = batch;
    good.checkpoint = Some(checkpoint(stored + appended, s.now));
    s.save(store, good.clone()).await;
    assert_eq!(latest_checkpoint(store).await, good.checkpoint);
    let sizes: Vec<u64> = dump(store).await.checkpoints.iter().map(|c| c.size).collect();
    assert_eq!(sizes, vec![3, stored + appended]);
}

/// The dump holds every event in the order committed (decoded, new fields included), every log
/// entry by index and every checkpoint by size.
pub async fn dump_returns_every_event_log_entry_and_checkpoint_in_order(store: &dyn Store) {
    let mut s = Scenario::new(27);
    let cast = full_scenario(store, &mut s, false).await;
    s.save(store, Commit { checkpoint: Some(checkpoint(7, s.now)), ..Commit::default() }).await;
    s.advance_s(1);
    s.step(store, Command::Deposit { user: cast.carol, amount: Fen::new(1_000) }).await;
    s.save(store, Commit { checkpoint: Some(checkpoint(s.log_size(), s.now)), ..Commit::default() }).await;

    let dump = dump(store).await;
    assert_eq!(dump.events, s.events, "every event, in order");
    assert_eq!(dump.log, s.log, "every log entry, by index");
    assert_eq!(dump.checkpoints, s.checkpoints, "every checkpoint, by size");
    assert_eq!(dump.checkpoints.len(), 2);

    // The log records the events and transfers the dump holds, in the same order.
    let logged: Vec<Event> = dump
        .log
        .iter()
        .filter_map(|row| match log::decode(&row.entry).map(|e| e.record) {
            Ok(LogRecord::Event(event)) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(logged, dump.events, "the log's events are the stored events");
    // The new kinds of event and field came back, so the comparison covered them.
    let commitment = dump.events.iter().any(
        |e| matches!(&e.what, EventKind::PacketSent { packet_id, commitment: Some(_), .. } if *packet_id == cast.lucky),
    );
    assert!(commitment, "the lucky packet's commitment is stored");
    let revealed = dump
        .events
        .iter()
        .any(|e| matches!(&e.what, EventKind::LuckySharesRevealed { packet_id, .. } if *packet_id == cast.lucky));
    assert!(revealed, "the lucky packet's reveal is stored");
}
