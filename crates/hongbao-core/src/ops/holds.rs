//! Holds on a user: locking and unlocking (a locked user may receive money but not pay), and
//! freezing and unfreezing part of a wallet.

use rand::CryptoRng;

use crate::event::{Event, EventKind};
use crate::id::{AccountId, UserId};
use crate::money::Fen;
use crate::user::{MeView, User, UserStatus};
use crate::world::Draft;

use super::reply::Reply;
use super::shared::{positive, user};
use super::{Ctx, Decision};

pub fn me(d: &mut Draft<'_>, user: &User) -> Decision {
    let wallet = d.account(AccountId::wallet(user.id))?;
    Ok(Reply::Me(MeView::new(user, wallet)?))
}

pub fn set_status<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: UserId, status: UserStatus) -> Decision {
    let mut person = user(d, id)?.clone();
    if person.status != status {
        person.status = status;
        let what = match status {
            UserStatus::Locked => EventKind::UserLocked { user_id: id },
            UserStatus::Active => EventKind::UserUnlocked { user_id: id },
        };
        d.emit(Event { at: ctx.now, what });
        d.put_user(person.clone());
    }
    me(d, &person)
}

pub fn freeze<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: UserId, amount: Fen, hold: bool) -> Decision {
    positive(amount, "amount")?;
    let person = user(d, id)?;
    let wallet = d.account(AccountId::wallet(id))?;
    let what = if hold {
        wallet.freeze(amount)?;
        EventKind::FundsFrozen { user_id: id, amount }
    } else {
        wallet.unfreeze(amount)?;
        EventKind::FundsUnfrozen { user_id: id, amount }
    };
    d.emit(Event { at: ctx.now, what });
    me(d, person)
}
