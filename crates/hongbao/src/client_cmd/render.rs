//! What a client command prints when not `--json`: short summaries, amounts in yuan.

use std::path::Path;

use hongbao_client::wire::{Direction, TransactionsPage};
use hongbao_core::ops::{ClaimDetail, Moved, OperatorCreated, Recalled, TransferReceipt, UserCreated};
use hongbao_core::packet::{ClaimReceipt, PacketView};
use hongbao_core::user::{GroupView, MeView};
use hongbao_core::{Fen, KeyId, UserId};

pub(super) fn yuan(amount: Fen) -> String {
    format!("¥{}", amount.to_yuan())
}

pub(super) fn secret_lines(key_id: KeyId, secret: &str, saved: Option<&Path>) -> String {
    match saved {
        Some(path) => format!("key id:  {key_id}\ncredentials saved to {} (mode 0600)", path.display()),
        None => format!("key id:  {key_id}\nsecret:  {secret}\nthe secret is shown only this once: keep it safe"),
    }
}

pub(super) fn render_user_created(user: &UserCreated, saved: Option<&Path>) -> String {
    format!("created user {} ({})\n{}", user.name, user.user_id, secret_lines(user.key_id, user.secret.expose(), saved))
}

pub(super) fn render_operator_created(operator: &OperatorCreated, saved: Option<&Path>) -> String {
    let roles: Vec<&str> = operator.roles.iter().map(|r| r.as_str()).collect();
    format!(
        "created operator {} with roles {}\n{}",
        operator.name,
        roles.join(", "),
        secret_lines(operator.key_id, operator.secret.expose(), saved)
    )
}

pub(super) fn render_moved(what: &str, moved: &Moved) -> String {
    format!("{what} ({}); balance {}", moved.transfer_id, yuan(moved.balance))
}

pub(super) fn render_me(me: &MeView) -> String {
    format!(
        "{} ({}), {}\nbalance      {}\navailable    {}\npending in   {}\npending out  {}\nfrozen       {}",
        me.name,
        me.user_id,
        me.status.as_str(),
        yuan(me.balance),
        yuan(me.available),
        yuan(me.pending_in),
        yuan(me.pending_out),
        yuan(me.frozen)
    )
}

pub(super) fn render_history(page: &TransactionsPage) -> String {
    let mut lines: Vec<String> = page
        .items
        .iter()
        .map(|t| {
            let sign = match t.direction {
                Direction::In => '+',
                Direction::Out => '-',
            };
            let packet = t.packet_id.map(|p| format!(" {p}")).unwrap_or_default();
            format!(
                "{}  {sign}{:>10}  {:<13}  {:<8}  {}{packet}",
                t.created_at,
                yuan(t.amount),
                t.kind.as_str(),
                t.status,
                t.transfer_id
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push("no transactions".to_owned());
    }
    if let Some(cursor) = &page.next_cursor {
        lines.push(format!("more: hongbao history --cursor {cursor}"));
    }
    lines.join("\n")
}

pub(super) fn render_group(group: &GroupView) -> String {
    let mut text = format!("group {} ({}), {} members:", group.name, group.group_id, group.members.len());
    for member in &group.members {
        text.push_str(&format!("\n  {member}"));
    }
    text
}

pub(super) fn delay_text(delay_s: u32) -> String {
    match delay_s {
        0 => "none".to_owned(),
        s if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        s => format!("{s}s"),
    }
}

pub(super) fn render_packet(p: &PacketView) -> String {
    let to = match (p.group_id, p.recipient) {
        (Some(group), _) => format!("group {group}"),
        (None, Some(user)) => user.to_string(),
        (None, None) => "nobody".to_owned(),
    };
    let mut text = format!(
        "{} packet {} from {} to {to}: {}\nstatus {}: {} of {} shares left ({} of {})\nsent {}, expires {}, arrival delay {}",
        p.kind.as_str(),
        p.packet_id,
        p.sender,
        p.greeting,
        p.status.as_str(),
        p.remaining_count,
        p.count,
        yuan(p.remaining_amount),
        yuan(p.total),
        p.created_at,
        p.expires_at,
        delay_text(p.arrival_delay_seconds)
    );
    if p.touched {
        text.push_str("\nopened by a recipient");
    }
    if !p.claims.is_empty() {
        text.push_str("\nclaims:");
        for c in &p.claims {
            let when = if c.status == hongbao_core::packet::ClaimStatus::Pending {
                format!("arrives {}", c.arrives_at)
            } else {
                format!("claimed {}", c.claimed_at)
            };
            text.push_str(&format!(
                "\n  {} {} {} {}, {when}",
                c.claim_id,
                c.user_id,
                yuan(c.amount),
                c.status.as_str()
            ));
        }
    }
    if let Some(best) = p.best_luck {
        text.push_str(&format!("\nbest luck (手气最佳): {best}"));
    }
    text
}

pub(super) fn arrival(status: &str, pending: bool, arrives_at: hongbao_core::Timestamp) -> String {
    if pending { format!("{status}, arrives {arrives_at}") } else { status.to_owned() }
}

pub(super) fn render_claim(c: &ClaimReceipt) -> String {
    let pending = c.status == hongbao_core::packet::ClaimStatus::Pending;
    format!(
        "claimed {} from {} (claim {}): {}",
        yuan(c.amount),
        c.packet_id,
        c.claim_id,
        arrival(c.status.as_str(), pending, c.arrives_at)
    )
}

pub(super) fn render_recalled(r: &Recalled) -> String {
    format!("recalled {}: {} back to your wallet", r.packet_id, yuan(r.refunded))
}

pub(super) fn render_claim_detail(verb: &str, c: &ClaimDetail) -> String {
    format!(
        "{verb} claim {} of {} ({} claimed by {}): now {}",
        c.claim_id,
        c.packet_id,
        yuan(c.amount),
        c.user_id,
        c.status.as_str()
    )
}

pub(super) fn transfer_status(status: hongbao_core::ops::TransferStatus) -> &'static str {
    match status {
        hongbao_core::ops::TransferStatus::Arrived => "arrived",
        hongbao_core::ops::TransferStatus::Pending => "pending",
        hongbao_core::ops::TransferStatus::Revoked => "revoked",
    }
}

pub(super) fn render_transfer(amount: Fen, to: UserId, t: &TransferReceipt) -> String {
    let pending = t.status == hongbao_core::ops::TransferStatus::Pending;
    format!(
        "sent {} to {to} ({}): {}",
        yuan(amount),
        t.transfer_id,
        arrival(transfer_status(t.status), pending, t.arrives_at)
    )
}

pub(super) fn render_transfer_revoked(t: &TransferReceipt) -> String {
    format!("transfer {}: {}", t.transfer_id, transfer_status(t.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "usr_0190f0a0b0c0d0e0f000000000000000";

    #[test]
    fn balances_show_in_yuan() {
        let me: MeView = serde_json::from_value(serde_json::json!({
            "user_id": USER, "name": "alice", "balance": 1050, "available": 1000,
            "pending_in": 0, "pending_out": 50, "frozen": 0, "status": "active"
        }))
        .unwrap();
        let text = render_me(&me);
        assert!(text.contains("balance      ¥10.50") && text.contains("pending out  ¥0.50"), "{text}");
    }

    #[test]
    fn a_saved_secret_is_not_printed() {
        let user: UserCreated = serde_json::from_value(serde_json::json!({
            "user_id": USER, "name": "alice", "key_id": "key_0190f0a0b0c0d0e0f000000000000000", "secret": "hbs_s3cret"
        }))
        .unwrap();
        assert!(render_user_created(&user, None).contains("hbs_s3cret"));
        let saved = render_user_created(&user, Some(Path::new("alice.json")));
        assert!(!saved.contains("hbs_s3cret") && saved.contains("alice.json"), "{saved}");
    }
}
