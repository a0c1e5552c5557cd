//! The suite's world: a [`Scenario`] that runs real commands on a core world and commits what
//! they change, with the log rows and checkpoints the engine would write, and the full scenario
//! that makes every kind of entity and change.

use std::time::Duration;

use hongbao_core::case::Payment;
use hongbao_core::document::DocumentKind;
use hongbao_core::event::Event;
use hongbao_core::log::{self, LogRecord};
use hongbao_core::ops::{self, Command, Ctx, DocumentSpec, FreezeSpec, PacketSpec, Reply};
use hongbao_core::principal::{Principal, Role};
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::SeizureTarget;
use hongbao_core::{
    CaseId, Changes, ClaimId, DocumentId, EvidenceId, Fen, FreezeId, GroupId, KeyId, Limits, PacketId, ReportId,
    SeizureId, Timestamp, TransferId, UserId, World,
};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use super::expect::assert_store_holds_world;
use crate::{CheckpointRow, Commit, IdempotencyRecord, LogRow, Store};

/// The business clock's start: 2026-11-18T11:06:40Z.
pub const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);

/// The longest any store call may take in the suite before it counts as hung.
pub(super) const PATIENCE: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test instead of hanging when it does not finish.
pub(super) async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {PATIENCE:?}"),
    }
}

/// A complete core world driven by commands, and the store that mirrors it.
#[derive(Debug)]
pub struct Scenario {
    pub world: World,
    pub now: Timestamp,
    pub limits: Limits,
    rng: ChaCha8Rng,
    /// Every event committed so far, in the order committed.
    pub events: Vec<Event>,
    /// Every log row committed so far: entry `i` is at position `i`.
    pub log: Vec<LogRow>,
    /// Every checkpoint committed so far, by size.
    pub checkpoints: Vec<CheckpointRow>,
}

impl Scenario {
    /// The world at genesis (only the external account exists), at [`T0`].
    pub fn new(seed: u64) -> Scenario {
        Scenario {
            world: World::genesis(),
            now: T0,
            limits: Limits::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            events: Vec::new(),
            log: Vec::new(),
            checkpoints: Vec::new(),
        }
    }

    /// Moves the clock.
    pub fn advance_s(&mut self, seconds: u32) {
        self.now = self.now.plus_seconds(seconds);
    }

    /// A fresh random id source for tests that need ids nobody used.
    pub fn mint_uuid(&mut self) -> uuid::Uuid {
        hongbao_core::id::mint_uuid(self.now, &mut self.rng)
    }

    /// Runs `command` on the world only. Panics if the core refuses it: the suite only issues
    /// commands that are allowed.
    pub fn run(&mut self, command: Command) -> Reply {
        let mut ctx = Ctx { now: self.now, mint_at: self.now, limits: &self.limits, rng: &mut self.rng };
        match ops::run(&mut self.world, &mut ctx, &command) {
            Ok(reply) => reply,
            Err(fail) => panic!("the core refused {command:?}: {fail:?}"),
        }
    }

    /// The changes made since the last call. Nothing is remembered as committed until
    /// [`Scenario::save`] commits them.
    pub fn take_changes(&mut self) -> Changes {
        self.world.take_changes()
    }

    /// The size of the log committed so far.
    pub fn log_size(&self) -> u64 {
        len_u64(self.log.len())
    }

    /// The batch the engine would commit for `changes`: the changes, `idempotency`, and the log
    /// rows recording them, indexed from the log committed so far. No checkpoint.
    pub fn batch(&self, changes: Changes, idempotency: Vec<IdempotencyRecord>) -> Commit {
        let log = log_rows(self.log_size(), &changes.log);
        Commit { changes, idempotency, log, ..Commit::default() }
    }

    /// Commits `batch`, panicking on failure, and remembers what it committed.
    pub async fn save(&mut self, store: &dyn Store, batch: Commit) {
        commit(store, batch.clone()).await;
        self.remember(batch);
    }

    /// Remembers `batch` as committed, for a test that committed it itself.
    pub fn remember(&mut self, batch: Commit) {
        self.events.extend(batch.changes.events);
        self.log.extend(batch.log);
        self.checkpoints.extend(batch.checkpoint);
    }

    /// Commits what the world changed since the last commit, with its log rows.
    pub async fn commit(&mut self, store: &dyn Store) {
        let changes = self.take_changes();
        let batch = self.batch(changes, Vec::new());
        self.save(store, batch).await;
    }

    /// Runs `command` and commits its changes.
    pub async fn step(&mut self, store: &dyn Store, command: Command) -> Reply {
        let reply = self.run(command);
        self.commit(store).await;
        reply
    }

    pub async fn user(&mut self, store: &dyn Store, name: &str) -> UserId {
        let user = self.user_in_world_only(name);
        self.commit(store).await;
        user
    }

    /// Creates a user in the world without committing.
    pub fn user_in_world_only(&mut self, name: &str) -> UserId {
        match self.run(Command::CreateUser { name: name.to_owned() }) {
            Reply::User(created) => created.user_id,
            other => panic!("creating a user answered {other:?}"),
        }
    }

    /// Creates an operator and commits; returns the operator's key id.
    pub async fn operator(&mut self, store: &dyn Store, name: &str, roles: &[Role]) -> KeyId {
        let key = self.operator_in_world_only(name, roles);
        self.commit(store).await;
        key
    }

    /// Creates an operator in the world without committing.
    pub fn operator_in_world_only(&mut self, name: &str, roles: &[Role]) -> KeyId {
        match self.run(Command::CreateOperator { name: name.to_owned(), roles: roles.to_vec() }) {
            Reply::Operator(created) => created.key_id,
            other => panic!("creating an operator answered {other:?}"),
        }
    }

    /// The key `CreateUser` made for `user`.
    pub fn key_of(&self, user: UserId) -> KeyId {
        match self.world.principals().find(|p| p.user() == Some(user)) {
            Some(principal) => principal.key_id,
            None => panic!("user {user} has no key in the world"),
        }
    }

    /// A principal of the world, which must exist.
    pub fn principal(&self, key: KeyId) -> Principal {
        match self.world.principal(key) {
            Ok(Some(principal)) => principal.clone(),
            other => panic!("key {key} is not in the world: {other:?}"),
        }
    }

    pub async fn deposit(&mut self, store: &dyn Store, user: UserId, fen: i64) {
        self.step(store, Command::Deposit { user, amount: Fen::new(fen) }).await;
    }

    pub async fn group(&mut self, store: &dyn Store, actor: UserId, members: &[UserId]) -> GroupId {
        let command = Command::CreateGroup { actor, name: "家人".to_owned(), members: members.to_vec() };
        match self.step(store, command).await {
            Reply::Group(view) => view.group_id,
            other => panic!("creating a group answered {other:?}"),
        }
    }

    pub async fn send(&mut self, store: &dyn Store, actor: UserId, spec: PacketSpec, delay_s: u32) -> PacketId {
        let command =
            Command::SendPacket { actor, spec, greeting: None, arrival_delay_s: delay_s, risk_confirmation: None };
        match self.step(store, command).await {
            Reply::Packet(view) => view.packet_id,
            other => panic!("sending a packet answered {other:?}"),
        }
    }

    pub async fn claim(&mut self, store: &dyn Store, actor: UserId, packet: PacketId) -> ClaimId {
        match self.step(store, Command::ClaimPacket { actor, packet }).await {
            Reply::Claimed(receipt) => receipt.claim_id,
            other => panic!("claiming answered {other:?}"),
        }
    }

    pub async fn transfer(
        &mut self,
        store: &dyn Store,
        actor: UserId,
        to: UserId,
        fen: i64,
        delay_s: u32,
        note: Option<&str>,
    ) -> TransferId {
        let command = Command::Transfer {
            actor,
            to,
            amount: Fen::new(fen),
            note: note.map(str::to_owned),
            arrival_delay_s: delay_s,
            risk_confirmation: None,
        };
        match self.step(store, command).await {
            Reply::Transfer(receipt) => receipt.transfer_id,
            other => panic!("transferring answered {other:?}"),
        }
    }

    /// The transfer that moved a claim's money.
    pub fn claim_transfer(&self, claim: ClaimId) -> TransferId {
        match self.world.claim(claim) {
            Ok(Some(claim)) => claim.transfer_id,
            other => panic!("claim {claim} is not in the world: {other:?}"),
        }
    }
}

/// Commits `batch` in one write transaction, panicking on failure.
pub async fn commit(store: &dyn Store, batch: Commit) {
    let tx = bounded("write", store.write()).await.expect("a write transaction begins");
    bounded("commit", tx.commit(batch)).await.expect("the commit succeeds");
}

/// Tries to commit `batch`, and answers whether the store refused it.
pub(super) async fn refused(store: &dyn Store, batch: Commit) -> bool {
    let tx = bounded("write", store.write()).await.expect("a write transaction begins");
    bounded("commit", tx.commit(batch)).await.is_err()
}

/// Commits idempotency records alone.
pub(super) async fn commit_records(store: &dyn Store, records: Vec<IdempotencyRecord>) {
    commit(store, Commit { idempotency: records, ..Commit::default() }).await;
}

/// A risk officer's lock of `user` (the officer's key is recorded, not looked up: the shell
/// authorises it).
pub fn lock(user: UserId) -> Command {
    Command::LockUser { officer: KeyId::from_uuid(uuid::Uuid::nil()), user, reason: "a test".to_owned() }
}

/// The unlock to [`lock`].
pub fn unlock(user: UserId) -> Command {
    Command::UnlockUser { officer: KeyId::from_uuid(uuid::Uuid::nil()), user, reason: "a test".to_owned() }
}

/// A legal officer's registration of a court's document whose scan hashes to `sha256`, issued a
/// day before `now`: a transfer order when the scan starts with 0x0d, else an assistance notice.
pub fn register_document(sha256: [u8; 32], evidence_id: Option<EvidenceId>, now: Timestamp) -> Command {
    // The scan 0x0d… is a transfer order; the others assistance notices.
    let kind = if sha256[0] == 0x0d { DocumentKind::TransferOrder } else { DocumentKind::AssistanceNotice };
    let spec = DocumentSpec {
        kind,
        authority: "深圳市南山区人民法院".to_owned(),
        reference: "(2026)粤0305执保123号".to_owned(),
        issued_at: now.plus_millis(-86_400_000),
        sha256,
        evidence_id,
        confidential: evidence_id.is_some(),
    };
    Command::RegisterDocument { officer: KeyId::from_uuid(uuid::Uuid::nil()), spec }
}

/// An officer's freeze of `amount` of `user`'s wallet, citing `documents`.
pub fn freeze(user: UserId, kind: FreezeKind, amount: Option<i64>, documents: Vec<DocumentId>) -> Command {
    let spec = FreezeSpec {
        user,
        kind,
        amount: amount.map(Fen::new),
        reason: "a test".to_owned(),
        documents,
        expires_at: None,
        major_case: false,
    };
    Command::PlaceFreeze { officer: KeyId::from_uuid(uuid::Uuid::nil()), spec }
}

/// `officer`'s release of `amount` of `freeze` (all of it with `None`).
pub fn release(officer: KeyId, freeze: FreezeId, amount: Option<i64>) -> Command {
    let reason = "a test".to_owned();
    Command::ReleaseFreeze { officer, legal: true, freeze, reason, amount: amount.map(Fen::new), documents: vec![] }
}

/// The log rows the engine appends for `records` to a log of `size` entries: each record
/// encoded as [`hongbao_core::log`] says, at the next index, with the transfer and the packet
/// it names.
pub fn log_rows(size: u64, records: &[LogRecord]) -> Vec<LogRow> {
    (size..)
        .zip(records)
        .map(|(index, record)| LogRow {
            index,
            entry: log::encode(record),
            transfer_id: record.transfer_id(),
            packet_id: record.packet_id(),
        })
        .collect()
}

/// A checkpoint of the first `size` entries. The note is shaped like a signed note (several
/// lines, a blank one, non-ASCII text, a final newline), all of which must come back exactly.
pub fn checkpoint(size: u64, created_at: Timestamp) -> CheckpointRow {
    let note = format!("hongbao.example/log\n{size}\nq0Zx3Vb+root/hash=\n\n— hongbao 红包 Az09+sig/==\n");
    CheckpointRow { size, note, created_at }
}

pub(super) fn len_u64(len: usize) -> u64 {
    u64::try_from(len).expect("a length fits in 64 bits")
}

/// Who and what the full scenario made.
#[derive(Debug)]
pub struct Cast {
    pub alice: UserId,
    pub bob: UserId,
    pub carol: UserId,
    pub dave: UserId,
    /// An operator with every role.
    pub root: KeyId,
    /// An operator with two roles, asked for out of order, and a name that is not ASCII.
    pub auditor: KeyId,
    pub group: GroupId,
    /// Lucky, 3 shares, two claimed, then expired with one share refunded.
    pub lucky: PacketId,
    /// Normal with delayed arrival, 2 shares: bob's claim revoked, carol's settled.
    pub delayed: PacketId,
    /// alice's return requests to dave of `settled_transfer`, oldest first: accepted (bob
    /// mediating), declined, open (bob mediating, with his note).
    pub return_requests: [hongbao_core::ReturnRequestId; 3],
    /// Exclusive to bob, claimed and returned.
    pub exclusive: PacketId,
    /// Normal, recalled before anyone touched it.
    pub recalled: PacketId,
    pub bob_delayed_claim: ClaimId,
    pub carol_delayed_claim: ClaimId,
    /// alice → dave, delayed, revoked by alice.
    pub revoked_transfer: TransferId,
    /// alice → dave, delayed, settled at its deadline.
    pub settled_transfer: TransferId,
    /// Registered citing an evidence file, confidential, never revealed.
    pub sealed_document: DocumentId,
    /// Registered, then revealed.
    pub revealed_document: DocumentId,
    /// Precautionary, 500 of bob's money, 200 of it released.
    pub bob_freeze: FreezeId,
    /// Police, far more than carol has: it holds her wallet and what arrives.
    pub police_freeze: FreezeId,
    /// 100 of the police freeze's money to bob, approved.
    pub executed_seizure: SeizureId,
    pub rejected_seizure: SeizureId,
    /// Opened by the fraud_reports rule on carol, with a note.
    pub fraud_case: CaseId,
    /// The three reports on carol, oldest first.
    pub reports: Vec<ReportId>,
}

/// Every kind of entity and every kind of change, committed one command at a time. With
/// `check_each_step`, the whole store is compared with the world after every commit.
pub async fn full_scenario(store: &dyn Store, s: &mut Scenario, check_each_step: bool) -> Cast {
    macro_rules! checked {
        ($e:expr) => {{
            let value = $e;
            if check_each_step {
                assert_store_holds_world(store, &s.world).await;
            }
            value
        }};
    }
    let alice = checked!(s.user(store, "alice").await);
    let bob = checked!(s.user(store, "bob").await);
    let carol = checked!(s.user(store, "carol").await);
    let dave = checked!(s.user(store, "戴夫").await);
    let root = checked!(s.operator(store, "root", &Role::ALL).await);
    let auditor = checked!(s.operator(store, "审计 auditor", &[Role::Auditor, Role::RiskOfficer]).await);
    checked!(s.deposit(store, alice, 1_000_000).await);
    checked!(s.deposit(store, bob, 50_000).await);
    let group = checked!(s.group(store, alice, &[bob, carol, dave]).await);

    let lucky = PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(3_000) };
    let lucky = checked!(s.send(store, alice, lucky, 0).await);
    let delayed = PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(500) };
    let delayed = checked!(s.send(store, alice, delayed, 7_200).await);
    let exclusive = PacketSpec::Exclusive { recipient: bob, amount: Fen::new(888) };
    let exclusive = checked!(s.send(store, alice, exclusive, 0).await);
    let recalled = PacketSpec::Normal { group_id: group, count: 3, amount_each: Fen::new(100) };
    let recalled = checked!(s.send(store, alice, recalled, 0).await);
    checked!(s.step(store, Command::RecallPacket { actor: alice, packet: recalled }).await);

    s.advance_s(60);
    checked!(s.step(store, Command::OpenPacket { actor: bob, packet: lucky }).await);
    checked!(s.claim(store, bob, lucky).await);
    let carol_lucky_claim = checked!(s.claim(store, carol, lucky).await);
    let bob_delayed_claim = checked!(s.claim(store, bob, delayed).await);
    let carol_delayed_claim = checked!(s.claim(store, carol, delayed).await);
    checked!(s.step(store, Command::RevokeClaim { actor: alice, claim: bob_delayed_claim }).await);
    let exclusive_claim = checked!(s.claim(store, bob, exclusive).await);
    checked!(s.step(store, Command::ReturnClaim { actor: bob, claim: exclusive_claim }).await);

    let revoked_transfer = checked!(s.transfer(store, alice, dave, 2_000, 7_200, Some("房租")).await);
    checked!(s.step(store, Command::RevokeTransfer { actor: alice, transfer: revoked_transfer }).await);
    // A second later, so that the two transfers to dave have a known order.
    s.advance_s(1);
    let settled_transfer = checked!(s.transfer(store, alice, dave, 3_000, 7_200, None).await);
    let bob_to_carol = checked!(s.transfer(store, bob, carol, 100, 0, Some("奶茶 🧋")).await);
    checked!(s.step(store, Command::Withdraw { actor: bob, amount: Fen::new(1_000) }).await);
    checked!(s.step(store, lock(carol)).await);
    checked!(s.step(store, unlock(carol)).await);
    // Her logins: kept on her user row, and written again as they change.
    let login = |user, region: &str| Command::RecordSignal {
        user,
        signal: hongbao_core::signal::Signal::Login { region: region.to_owned(), device_id: "手机 1".to_owned() },
    };
    checked!(s.step(store, login(carol, "CN-GD")).await);
    checked!(s.step(store, login(carol, "广东 深圳")).await);
    let evidence = Some(EvidenceId::from_uuid(s.mint_uuid()));
    let registered = |reply| match reply {
        Reply::DocumentRegistered(r) => r.document_id,
        other => panic!("registering a document answered {other:?}"),
    };
    let sealed_document = registered(checked!(s.step(store, register_document([0xd0; 32], evidence, s.now)).await));
    let revealed_document = registered(checked!(s.step(store, register_document([0; 32], None, s.now)).await));
    let reason = "the court asked for it".to_owned();
    let reveal = Command::RevealDocument { officer: root, document: revealed_document, reason };
    checked!(s.step(store, reveal).await);
    let frozen = |reply| match reply {
        Reply::Freeze(f) => f.freeze_id,
        other => panic!("a freeze answered {other:?}"),
    };
    // Bob's 500 held, 200 of it released; a police freeze short of its amount holds carol's
    // money and then what reaches her.
    let bob_freeze = checked!(s.step(store, freeze(bob, FreezeKind::Precautionary, Some(500), vec![])).await);
    let bob_freeze = frozen(bob_freeze);
    checked!(s.step(store, release(root, bob_freeze, Some(200))).await);
    let police = freeze(carol, FreezeKind::Police, Some(1_000_000), vec![sealed_document]);
    let police_freeze = frozen(checked!(s.step(store, police).await));
    checked!(s.transfer(store, bob, carol, 150, 0, None).await);
    // 100 of what the police freeze holds goes back to bob under a transfer order, proposed by
    // one officer and approved by another; a second proposal is rejected.
    let order = register_document([0x0d; 32], None, s.now);
    let order = match checked!(s.step(store, order).await) {
        Reply::DocumentRegistered(r) => r.document_id,
        other => panic!("registering answered {other:?}"),
    };
    let propose = |amount| Command::ProposeSeizure {
        officer: KeyId::from_uuid(uuid::Uuid::nil()),
        freeze: police_freeze,
        amount: Fen::new(amount),
        to: SeizureTarget::User(bob),
        reason: "a test".to_owned(),
        documents: vec![order],
    };
    let seized = |reply| match reply {
        Reply::Seizure(s) => s.seizure_id,
        other => panic!("a forced transfer answered {other:?}"),
    };
    let executed_seizure = seized(checked!(s.step(store, propose(100)).await));
    let approve = Command::ApproveSeizure { officer: root, seizure: executed_seizure };
    checked!(s.step(store, approve).await);
    // A second later, so that the two proposals have a known order.
    s.advance_s(1);
    let rejected_seizure = seized(checked!(s.step(store, propose(50)).await));
    let reject = Command::RejectSeizure { officer: root, seizure: rejected_seizure, reason: "a test".to_owned() };
    checked!(s.step(store, reject).await);

    s.advance_s(7_200);
    let carol_pending = s.claim_transfer(carol_delayed_claim);
    checked!(s.step(store, Command::SettlePending { transfer: carol_pending }).await);
    checked!(s.step(store, Command::SettlePending { transfer: settled_transfer }).await);
    s.advance_s(24 * 3_600);
    checked!(s.step(store, Command::ExpirePacket { packet: lucky }).await);
    checked!(s.step(store, Command::Withdraw { actor: dave, amount: Fen::new(1_000) }).await);

    // Three who paid carol report her, each with evidence: the fraud_reports rule opens a case
    // and holds what they reported; an officer notes on it. A fourth report joins it.
    let dave_to_carol = checked!(s.transfer(store, dave, carol, 200, 0, None).await);
    let report = |actor, payment| Command::FileReport {
        actor,
        subject: carol,
        payments: vec![payment],
        description: "she sold me nothing\n什么都没发货".to_owned(),
        evidence: vec![EvidenceId::from_uuid(uuid::Uuid::from_u128(0xe1))],
    };
    let filed = |reply| match reply {
        Reply::Report(r) => r,
        other => panic!("a report answered {other:?}"),
    };
    let mut reports = Vec::new();
    for (actor, payment) in [
        (bob, Payment::Transfer(bob_to_carol)),
        (alice, Payment::Claim(carol_lucky_claim)),
        (dave, Payment::Transfer(dave_to_carol)),
    ] {
        reports.push(filed(checked!(s.step(store, report(actor, payment)).await)));
    }
    let fraud_case = reports[2].case_id.expect("three reporters with evidence: the rule fires");
    let note = Command::AddCaseNote { officer: root, case: fraud_case, text: "她说已经发货".to_owned() };
    checked!(s.step(store, note).await);
    let reports = reports.into_iter().map(|r| r.id).collect();

    // Alice asks dave for 1 000 of the transfer that settled back, bob mediating: accepted. She
    // asks for 500 more: declined. She asks for the rest, and bob notes on it: left open.
    let returning = |reply| match reply {
        Reply::ReturnRequest(r) => r.id,
        other => panic!("a return request answered {other:?}"),
    };
    let ask = |amount: Option<i64>, mediator| Command::OpenReturnRequest {
        actor: alice,
        target: Payment::Transfer(settled_transfer),
        amount: amount.map(Fen::new),
        message: "转错了，请退还\nsent by mistake".to_owned(),
        mediator,
    };
    let accepted = returning(checked!(s.step(store, ask(Some(1_000), Some(bob))).await));
    checked!(s.step(store, Command::AcceptReturnRequest { actor: dave, request: accepted }).await);
    s.advance_s(1);
    let declined = returning(checked!(s.step(store, ask(Some(500), None)).await));
    let decline = Command::DeclineReturnRequest { actor: dave, request: declined, message: "房租".to_owned() };
    checked!(s.step(store, decline).await);
    s.advance_s(1);
    let open_request = returning(checked!(s.step(store, ask(None, Some(bob))).await));
    let note = Command::AddReturnNote { actor: bob, request: open_request, text: "我来调解".to_owned() };
    checked!(s.step(store, note).await);
    let return_requests = [accepted, declined, open_request];

    Cast {
        alice,
        bob,
        carol,
        dave,
        root,
        auditor,
        group,
        lucky,
        delayed,
        exclusive,
        recalled,
        bob_delayed_claim,
        carol_delayed_claim,
        revoked_transfer,
        settled_transfer,
        sealed_document,
        revealed_document,
        bob_freeze,
        police_freeze,
        executed_seizure,
        rejected_seizure,
        return_requests,
        fraud_case,
        reports,
    }
}
