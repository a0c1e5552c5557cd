//! The double-entry ledger: accounts, immutable transfers, two-phase (pending) transfers.
//!
//! Modelled on TigerBeetle: an account keeps four running totals (posted and pending, debits
//! and credits); a transfer debits one account and credits another by the same positive amount;
//! a pending transfer reserves money until it is posted or voided, exactly once.
//!
//! **Invariant:** the sum of `credits_posted − debits_posted` over all accounts is zero, and so
//! is the sum of `credits_pending − debits_pending`, because every change adds the same amount
//! to one debit total and one credit total.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, FrozenReason};
use crate::id::{AccountId, ClaimId, PacketId, TransferId};
use crate::money::{Fen, MoneyError};
use crate::time::Timestamp;

/// What an account is for; it decides whether the account may go below zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A person's money. Never negative: available ≥ 0.
    Wallet,
    /// A packet's money between send and claim. Never negative.
    Escrow,
    /// The world outside (bank cards). Its balance is minus the money inside the system.
    External,
}

impl AccountKind {
    pub const fn may_go_negative(self) -> bool {
        matches!(self, AccountKind::External)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            AccountKind::Wallet => "wallet",
            AccountKind::Escrow => "escrow",
            AccountKind::External => "external",
        }
    }
}

/// The running totals of one account, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balances {
    pub debits_posted: Fen,
    pub credits_posted: Fen,
    pub debits_pending: Fen,
    pub credits_pending: Fen,
    /// Held by a freeze: not spendable, but still part of the balance.
    pub frozen: Fen,
}

/// A ledger account. Its totals change only through the methods below, which refuse any change
/// that would make a non-negative account's available money negative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub kind: AccountKind,
    balances: Balances,
    /// A wallet only: an active freeze of it holds less than it would, so whatever becomes
    /// available is held (see `freeze`).
    holding: bool,
}

impl Account {
    /// A new, empty account.
    pub fn open(id: AccountId, kind: AccountKind) -> Account {
        Account { id, kind, balances: Balances::default(), holding: false }
    }

    /// An account as a store saved it. The invariant check verifies stored totals against the
    /// transfers, so a store cannot smuggle in a wrong total unnoticed.
    pub fn restore(id: AccountId, kind: AccountKind, balances: Balances, holding: bool) -> Account {
        Account { id, kind, balances, holding }
    }

    /// Whether a freeze of this wallet is short of what it would hold.
    pub fn holding(&self) -> bool {
        self.holding
    }

    pub fn set_holding(&mut self, holding: bool) {
        self.holding = holding;
    }

    pub fn balances(&self) -> Balances {
        self.balances
    }

    /// Posted money: credits minus debits.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn balance(&self) -> Result<Fen, MoneyError> {
        self.balances.credits_posted.checked_sub(self.balances.debits_posted)
    }

    /// Money that may be spent now: balance − pending out − frozen.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn available(&self) -> Result<Fen, MoneyError> {
        self.balance()?.checked_sub(self.balances.debits_pending)?.checked_sub(self.balances.frozen)
    }

    pub fn pending_in(&self) -> Fen {
        self.balances.credits_pending
    }

    pub fn pending_out(&self) -> Fen {
        self.balances.debits_pending
    }

    pub fn frozen(&self) -> Fen {
        self.balances.frozen
    }

    fn ensure_spendable(&self, amount: Fen) -> Result<(), CoreError> {
        if self.kind.may_go_negative() {
            return Ok(());
        }
        let available = self.available()?;
        if available < amount {
            // Enough money but for what a freeze holds: the hold is the reason, not the balance.
            if available.checked_add(self.balances.frozen)? >= amount {
                return Err(CoreError::AccountFrozen { reason: FrozenReason::Held });
            }
            return Err(CoreError::InsufficientFunds { needed: amount, available });
        }
        Ok(())
    }

    /// Takes posted money out.
    ///
    /// # Errors
    /// [`CoreError::InsufficientFunds`] when a non-negative account lacks available money.
    pub fn debit_posted(&mut self, amount: Fen) -> Result<(), CoreError> {
        self.ensure_spendable(amount)?;
        self.balances.debits_posted = self.balances.debits_posted.checked_add(amount)?;
        Ok(())
    }

    /// # Errors
    /// Overflow only.
    pub fn credit_posted(&mut self, amount: Fen) -> Result<(), CoreError> {
        self.balances.credits_posted = self.balances.credits_posted.checked_add(amount)?;
        Ok(())
    }

    /// Reserves money for a pending transfer out: it stays in the balance, not in available.
    ///
    /// # Errors
    /// [`CoreError::InsufficientFunds`] as for [`Account::debit_posted`].
    pub fn debit_pending(&mut self, amount: Fen) -> Result<(), CoreError> {
        self.ensure_spendable(amount)?;
        self.balances.debits_pending = self.balances.debits_pending.checked_add(amount)?;
        Ok(())
    }

    /// # Errors
    /// Overflow only.
    pub fn credit_pending(&mut self, amount: Fen) -> Result<(), CoreError> {
        self.balances.credits_pending = self.balances.credits_pending.checked_add(amount)?;
        Ok(())
    }

    fn take_pending(total: &mut Fen, amount: Fen) -> Result<(), CoreError> {
        let left = total.checked_sub(amount)?;
        if left.is_negative() {
            // A pending amount larger than what is pending means a bug upstream: refuse it
            // rather than letting the totals drift.
            return Err(CoreError::conflict("pending total would go negative"));
        }
        *total = left;
        Ok(())
    }

    /// Resolves a pending debit: posted (`post = true`) or released.
    ///
    /// # Errors
    /// Overflow, or a pending total smaller than `amount`.
    pub fn resolve_pending_debit(&mut self, amount: Fen, resolution: Resolution) -> Result<(), CoreError> {
        Self::take_pending(&mut self.balances.debits_pending, amount)?;
        if resolution == Resolution::Post {
            self.balances.debits_posted = self.balances.debits_posted.checked_add(amount)?;
        }
        Ok(())
    }

    /// Resolves a pending credit: posted or released.
    ///
    /// # Errors
    /// Overflow, or a pending total smaller than `amount`.
    pub fn resolve_pending_credit(&mut self, amount: Fen, resolution: Resolution) -> Result<(), CoreError> {
        Self::take_pending(&mut self.balances.credits_pending, amount)?;
        if resolution == Resolution::Post {
            self.balances.credits_posted = self.balances.credits_posted.checked_add(amount)?;
        }
        Ok(())
    }

    /// Holds `amount` of available money. The balance does not change.
    ///
    /// # Errors
    /// [`CoreError::InsufficientFunds`] when less is available.
    pub fn freeze(&mut self, amount: Fen) -> Result<(), CoreError> {
        let available = self.available()?;
        if available < amount {
            return Err(CoreError::InsufficientFunds { needed: amount, available });
        }
        self.balances.frozen = self.balances.frozen.checked_add(amount)?;
        Ok(())
    }

    /// Releases `amount` of frozen money.
    ///
    /// # Errors
    /// [`CoreError::Conflict`] when less is frozen.
    pub fn unfreeze(&mut self, amount: Fen) -> Result<(), CoreError> {
        if self.balances.frozen < amount {
            return Err(CoreError::conflict(format!("only {} is frozen", self.balances.frozen)));
        }
        self.balances.frozen = self.balances.frozen.checked_sub(amount)?;
        Ok(())
    }
}

/// How a pending transfer ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Post,
    Void,
}

/// Why money moved. Shown to users as the `kind` of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Money in from a bank card.
    Deposit,
    /// Money out to a bank card.
    Withdrawal,
    /// Sender → packet escrow, when a packet is sent.
    PacketSend,
    /// Packet escrow → claimant.
    PacketClaim,
    /// Packet escrow → sender, the unclaimed remainder at expiry.
    PacketRefund,
    /// Packet escrow → sender, when the sender recalls an untouched packet.
    PacketRecall,
    /// Packet escrow → sender, when the sender revokes a pending claim.
    ClaimRevoke,
    /// Claimant → sender, when the claimant gives a claim back.
    ClaimReturn,
    /// User → user (转账).
    Transfer,
    /// Frozen money → a victim's wallet or out (划转), under four eyes.
    Seizure,
    /// Payee → original payer, giving back part or all of a transfer or a claimed share at the
    /// payee's word: an accepted return request, or a dispute the payee agreed to.
    Return,
}

impl TransferKind {
    pub const ALL: [TransferKind; 11] = [
        TransferKind::Deposit,
        TransferKind::Withdrawal,
        TransferKind::PacketSend,
        TransferKind::PacketClaim,
        TransferKind::PacketRefund,
        TransferKind::PacketRecall,
        TransferKind::ClaimRevoke,
        TransferKind::ClaimReturn,
        TransferKind::Transfer,
        TransferKind::Seizure,
        TransferKind::Return,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TransferKind::Deposit => "deposit",
            TransferKind::Withdrawal => "withdrawal",
            TransferKind::PacketSend => "packet_send",
            TransferKind::PacketClaim => "packet_claim",
            TransferKind::PacketRefund => "packet_refund",
            TransferKind::PacketRecall => "packet_recall",
            TransferKind::ClaimRevoke => "claim_revoke",
            TransferKind::ClaimReturn => "claim_return",
            TransferKind::Transfer => "transfer",
            TransferKind::Seizure => "seizure",
            TransferKind::Return => "return",
        }
    }

    pub fn parse(text: &str) -> Option<TransferKind> {
        TransferKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a transfer stands in the two-phase protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Moves posted money at once.
    Posted,
    /// Reserves money until `deadline`, when it is posted by itself unless voided before.
    Pending { deadline: Timestamp },
    /// Posts the pending transfer `pending_id`.
    PostPending { pending_id: TransferId },
    /// Voids the pending transfer `pending_id`: the reserved money stays where it was.
    VoidPending { pending_id: TransferId },
}

impl Phase {
    /// Whether this transfer moves money of its own (posted or pending), rather than resolving
    /// an earlier pending transfer.
    pub const fn is_original(self) -> bool {
        matches!(self, Phase::Posted | Phase::Pending { .. })
    }
}

/// One immutable movement of money. A mistake is corrected by a new transfer, never an edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    pub debit: AccountId,
    pub credit: AccountId,
    /// Always at least 1 fen.
    pub amount: Fen,
    pub kind: TransferKind,
    pub phase: Phase,
    pub packet_id: Option<PacketId>,
    pub claim_id: Option<ClaimId>,
    pub note: Option<String>,
    pub created_at: Timestamp,
}

/// Whether a pending transfer is still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    Pending,
    Posted,
    Voided,
}

impl PendingStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PendingStatus::Pending => "pending",
            PendingStatus::Posted => "posted",
            PendingStatus::Voided => "voided",
        }
    }
}

/// A pending transfer and its fate. The transfer itself never changes; only `status` and
/// `resolved_at` do, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTransfer {
    pub transfer: Transfer,
    pub status: PendingStatus,
    pub resolved_at: Option<Timestamp>,
}

impl PendingTransfer {
    /// When the money arrives by itself.
    pub fn deadline(&self) -> Timestamp {
        match self.transfer.phase {
            Phase::Pending { deadline } => deadline,
            // Only pending transfers are wrapped in this type; a wrong phase is treated as due.
            _ => Timestamp::from_millis(i64::MIN),
        }
    }

    /// Still reserved at `now`: not resolved, and its deadline not reached. Past the deadline
    /// the money counts as arrived even before the background job has posted it.
    pub fn is_open_at(&self, now: Timestamp) -> bool {
        self.status == PendingStatus::Pending && now < self.deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet() -> Account {
        Account::open(AccountId::EXTERNAL, AccountKind::Wallet)
    }

    #[test]
    fn a_wallet_cannot_spend_more_than_it_has_available() {
        let mut account = wallet();
        account.credit_posted(Fen::new(100)).unwrap();
        account.debit_pending(Fen::new(30)).unwrap();
        account.freeze(Fen::new(20)).unwrap();
        assert_eq!(account.available(), Ok(Fen::new(50)));
        let before = account.clone();
        // Short only by what is frozen: the hold is the reason. Short of more: insufficient.
        assert_eq!(account.debit_posted(Fen::new(70)), Err(CoreError::AccountFrozen { reason: FrozenReason::Held }));
        assert_eq!(
            account.debit_posted(Fen::new(71)),
            Err(CoreError::InsufficientFunds { needed: Fen::new(71), available: Fen::new(50) })
        );
        assert_eq!(account, before, "a refused debit changes nothing");
        account.debit_posted(Fen::new(50)).unwrap();
        assert_eq!(account.available(), Ok(Fen::ZERO));
    }

    #[test]
    fn resolving_a_pending_debit_moves_it_to_posted_or_releases_it() {
        let mut account = wallet();
        account.credit_posted(Fen::new(100)).unwrap();
        account.debit_pending(Fen::new(40)).unwrap();
        account.resolve_pending_debit(Fen::new(40), Resolution::Void).unwrap();
        assert_eq!(account.available(), Ok(Fen::new(100)));
        account.debit_pending(Fen::new(40)).unwrap();
        account.resolve_pending_debit(Fen::new(40), Resolution::Post).unwrap();
        assert_eq!(account.balance(), Ok(Fen::new(60)));
        assert!(account.resolve_pending_debit(Fen::new(1), Resolution::Post).is_err());
    }

    #[test]
    fn the_external_account_may_go_negative() {
        let mut external = Account::open(AccountId::EXTERNAL, AccountKind::External);
        external.debit_posted(Fen::new(500)).unwrap();
        assert_eq!(external.balance(), Ok(Fen::new(-500)));
    }
}
