//! Holds on a user: locking and unlocking (a locked user may receive money but not pay). Holds
//! on their money are `freezes.rs`.

use rand::CryptoRng;

use crate::event::{Event, EventKind};
use crate::id::{AccountId, KeyId, UserId};
use crate::time::Timestamp;
use crate::user::{MeView, User, UserStatus};
use crate::world::Draft;

use super::reply::Reply;
use super::shared::{check_reason, user};
use super::{Ctx, Decision};

/// Locks `person` by a rule (no officer: the log's `actor` is absent), saying why; a user
/// already locked stays as they are and nothing is logged.
pub(super) fn lock_by_rule(d: &mut Draft<'_>, now: Timestamp, person: &mut User, reason: String) {
    if person.status == UserStatus::Locked {
        return;
    }
    person.status = UserStatus::Locked;
    let what = EventKind::UserLocked { user_id: person.id, actor: None, reason: Some(reason) };
    d.emit(Event { at: now, what });
}

pub fn me(d: &mut Draft<'_>, user: &User) -> Decision {
    let wallet = d.account(AccountId::wallet(user.id))?;
    Ok(Reply::Me(MeView::new(user, wallet)?))
}

/// Locks or unlocks `id`, recording who acted and why. Asking for the status a user already
/// has changes nothing and logs nothing.
pub fn set_status<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    (officer, reason): (KeyId, &str),
    id: UserId,
    status: UserStatus,
) -> Decision {
    check_reason(reason, ctx.limits)?;
    let mut person = user(d, id)?.clone();
    if person.status != status {
        person.status = status;
        let (actor, reason) = (Some(officer), Some(reason.to_owned()));
        let what = match status {
            UserStatus::Locked => EventKind::UserLocked { user_id: id, actor, reason },
            UserStatus::Active => EventKind::UserUnlocked { user_id: id, actor, reason },
        };
        d.emit(Event { at: ctx.now, what });
        d.put_user(person.clone());
    }
    me(d, &person)
}
