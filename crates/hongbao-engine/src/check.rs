//! `hongbao check`: every invariant of DESIGN.md against what a store holds.

use std::fmt;

use hongbao_core::invariants::{self, Violation};
use hongbao_core::ops::Reply;
use hongbao_core::{CoreError, Limits, World};
use std::collections::{HashMap, HashSet};

use ed25519_dalek::VerifyingKey;
use hongbao_audit::note::{self, Verifier};
use hongbao_audit::{Tree, leaf_hash};
use hongbao_core::event::EventKind;
use hongbao_core::log::{LogRecord, decode, encode};
use hongbao_core::packet::{Claim, Packet, PacketStatus};
use hongbao_core::{ClaimId, Fact, PacketId, fairness};
use hongbao_store::{Dump, Store, StoreError};

/// What the check found.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub backend: &'static str,
    pub users: usize,
    pub accounts: usize,
    pub packets: usize,
    pub claims: usize,
    pub transfers: usize,
    /// Events stored: in the log's entries while the log is on, in the `events` table while it
    /// is off.
    pub events: u64,
    pub idempotency_records: usize,
    pub violations: Vec<Violation>,
    /// Entries in the transparency log and signed checkpoints.
    pub log_entries: usize,
    pub checkpoints: usize,
    /// What is wrong with the transparency log (edited, missing or reordered entries, bad
    /// signatures, checkpoints the entries do not hash to).
    pub log_problems: Vec<String>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.log_problems.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checked {} store: {} users, {} accounts, {} packets, {} claims, {} transfers, {} events, {} idempotency records",
            self.backend,
            self.users,
            self.accounts,
            self.packets,
            self.claims,
            self.transfers,
            self.events,
            self.idempotency_records
        )?;
        if self.log_problems.is_empty() {
            writeln!(
                f,
                "transparency log: {} entries, {} signed checkpoints, every one consistent with the entries",
                self.log_entries, self.checkpoints
            )?;
        } else {
            writeln!(f, "transparency log: {} problem(s):", self.log_problems.len())?;
            for problem in &self.log_problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        if self.violations.is_empty() {
            return write!(f, "all five invariants hold");
        }
        writeln!(f, "{} violation(s):", self.violations.len())?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        Ok(())
    }
}

/// Loads everything from `store` and checks the five invariants: double entry (against the
/// transfers, independently of the stored totals), no negative wallet, escrow equal to what is
/// unclaimed, shares and claims that add up, and every stored idempotent answer backed by
/// what it names.
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub async fn check(
    store: &dyn Store,
    limits: &Limits,
    log_key: Option<&VerifyingKey>,
) -> Result<CheckReport, StoreError> {
    let dump = store.dump().await?;
    let (log_problems, logged_events) = check_log(&dump, log_key);
    let world = World::complete_from(dump.facts);
    let mut violations = invariants::check(&world, limits);
    let mut replies = Vec::new();
    for record in &dump.idempotency {
        match serde_json::from_str::<Result<Reply, CoreError>>(&record.outcome) {
            Ok(Ok(reply)) => replies.push(reply),
            Ok(Err(_)) => {}
            Err(err) => violations.push(Violation {
                invariant: 5,
                message: format!(
                    "the stored answer for key {:?} of {} is unreadable: {err}",
                    record.key, record.principal
                ),
            }),
        }
    }
    violations.extend(invariants::check_replies(&world, &replies));
    Ok(CheckReport {
        backend: store.backend(),
        users: world.users().count(),
        accounts: world.accounts().count(),
        packets: world.packets().count(),
        claims: world.claims().count(),
        transfers: world.transfers().count(),
        events: (dump.events.len() + logged_events) as u64,
        idempotency_records: dump.idempotency.len(),
        violations,
        log_entries: dump.log.len(),
        checkpoints: dump.checkpoints.len(),
        log_problems,
    })
}

/// Rebuilds the log's tree from the stored entries and checks it against every signed
/// checkpoint, and checks that the transfer entries are exactly the ledger's transfers,
/// re-encoded. An edited, deleted or reordered entry fails here. Also answers how many entries
/// record events.
fn check_log(dump: &Dump, key: Option<&VerifyingKey>) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    if dump.log.is_empty() && dump.checkpoints.is_empty() {
        return (problems, 0);
    }
    let mut tree = Tree::new();
    for row in &dump.log {
        if row.index != tree.len() {
            problems.push(format!("entry {} is missing (the next stored entry is {})", tree.len(), row.index));
            return (problems, 0);
        }
        tree.push(leaf_hash(&row.entry));
    }
    match key {
        None => problems.push("no public key given: checkpoint signatures cannot be verified".to_owned()),
        Some(key) => {
            for checkpoint in &dump.checkpoints {
                let origin = checkpoint.note.lines().next().unwrap_or_default();
                let opened = Verifier::parse(&note::vkey(origin, key))
                    .map_err(|e| e.to_string())
                    .and_then(|verifier| note::open(&checkpoint.note, &verifier).map_err(|e| e.to_string()));
                match opened {
                    Err(why) => problems.push(format!("checkpoint {} does not verify: {why}", checkpoint.size)),
                    Ok(opened) => match tree.root_at(opened.size) {
                        Ok(root) if root == opened.root && opened.size == checkpoint.size => {}
                        Ok(_) => problems.push(format!(
                            "the entries do not hash to the signed root of checkpoint {}: entries were edited, \
                             removed or reordered",
                            opened.size
                        )),
                        Err(_) => problems.push(format!(
                            "checkpoint {} covers more entries than the log holds ({})",
                            opened.size,
                            tree.len()
                        )),
                    },
                }
            }
        }
    }
    // The transfer entries must be exactly the ledger's transfers: every one once, with the
    // bytes it encodes to. Events are kept only in the log while it is on (see the engine's
    // commit), so they are held against the ledger's packets and claims instead: every packet
    // sent once with its terms and commitment, every claim once with its amount, every recall
    // or expiry once and of a packet the ledger has so, every reveal with the packet's own salt
    // and shares.
    let mut transfers = HashMap::new();
    let mut claims = HashMap::new();
    let mut packets = HashMap::new();
    for fact in &dump.facts {
        match fact {
            Fact::Transfer(id, Some(transfer)) => {
                transfers.insert(*id, encode(&LogRecord::Transfer(transfer.clone())));
            }
            Fact::Claim(id, Some(claim)) => {
                claims.insert(*id, claim);
            }
            Fact::Packet(id, Some(packet)) => {
                packets.insert(*id, packet);
            }
            _ => {}
        }
    }
    let (mut sent, mut closed) = (HashSet::new(), HashSet::new());
    let mut events = 0;
    for row in &dump.log {
        match decode(&row.entry).map(|entry| entry.record) {
            Err(why) => problems.push(format!("entry {}: {why}", row.index)),
            Ok(LogRecord::Transfer(transfer)) => match transfers.remove(&transfer.id) {
                Some(bytes) if bytes == row.entry => {}
                Some(_) => {
                    problems.push(format!("entry {} differs from transfer {} in the ledger", row.index, transfer.id))
                }
                None => problems.push(format!(
                    "entry {} records transfer {}, which the ledger does not have once",
                    row.index, transfer.id
                )),
            },
            Ok(LogRecord::Event(event)) => {
                events += 1;
                if let Some(problem) = event_against_ledger(&event.what, &packets, &mut claims, &mut sent, &mut closed)
                {
                    problems.push(format!("entry {}: {problem}", row.index));
                }
            }
        }
    }
    if !transfers.is_empty() {
        problems.push(format!("{} transfer(s) of the ledger are not in the log", transfers.len()));
    }
    if !claims.is_empty() {
        problems.push(format!("{} claim(s) of the ledger are not in the log", claims.len()));
    }
    if sent.len() < packets.len() {
        problems.push(format!("{} packet(s) of the ledger are not in the log", packets.len() - sent.len()));
    }
    (problems, events)
}

/// What is wrong with a logged event that the ledger contradicts, if anything. `claims` loses
/// each claim its event names, `sent` and `closed` gain each packet sent and each recalled or
/// expired, so a second event for any of them is caught.
fn event_against_ledger(
    what: &EventKind,
    packets: &HashMap<PacketId, &Packet>,
    claims: &mut HashMap<ClaimId, &Claim>,
    sent: &mut HashSet<PacketId>,
    closed: &mut HashSet<PacketId>,
) -> Option<String> {
    match what {
        EventKind::PacketSent { packet_id, sender, kind, count, total, commitment } => {
            let Some(packet) = packets.get(packet_id) else {
                return Some(format!("packet {packet_id} is not in the ledger"));
            };
            if !sent.insert(*packet_id) {
                return Some(format!("packet {packet_id} is sent a second time"));
            }
            let expected = packet.salt.as_ref().map(|salt| fairness::commitment(salt, &packet.shares));
            let same = (*sender, *kind, *count, *total, commitment)
                == (packet.sender, packet.kind, packet.count(), packet.total, &expected);
            (!same).then(|| format!("the sending of packet {packet_id} differs from the ledger's packet"))
        }
        EventKind::PacketClaimed { packet_id, claim_id, user_id, amount } => match claims.remove(claim_id) {
            None => Some(format!("claim {claim_id} is not in the ledger, or is logged twice")),
            Some(claim) if (claim.packet_id, claim.user_id, claim.amount) == (*packet_id, *user_id, *amount) => None,
            Some(_) => Some(format!("claim {claim_id} differs from the ledger's claim")),
        },
        EventKind::PacketRecalled { packet_id, .. } | EventKind::PacketExpired { packet_id, .. } => {
            let status = if matches!(what, EventKind::PacketRecalled { .. }) {
                PacketStatus::Recalled
            } else {
                PacketStatus::Expired
            };
            match packets.get(packet_id) {
                _ if !closed.insert(*packet_id) => Some(format!("packet {packet_id} is closed a second time")),
                Some(packet) if packet.status == status => None,
                _ => Some(format!("packet {packet_id} is not {} in the ledger", status.as_str())),
            }
        }
        EventKind::LuckySharesRevealed { packet_id, salt, shares } => match packets.get(packet_id) {
            Some(packet) if packet.salt.as_ref() == Some(salt) && packet.shares[..] == shares[..] => None,
            _ => Some(format!("the reveal of packet {packet_id} differs from the ledger's packet")),
        },
        _ => None,
    }
}
