//! Rules about people: creating users (each with a wallet and a first key), operators (a key
//! with roles) and groups of users.

use rand::CryptoRng;

use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{AccountId, GroupId, UserId};
use crate::ledger::{Account, AccountKind};
use crate::principal::{Owner, Principal, Role, mint_credentials, normalise_roles};
use crate::signal::Logins;
use crate::user::{Group, GroupView, User, UserStatus, check_name};
use crate::world::{Draft, Key};

use super::reply::{OperatorCreated, Reply, UserCreated};
use super::shared::user;
use super::{Ctx, Decision};

pub fn create_user<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, name: &str) -> Decision {
    check_name("name", name, ctx.limits.name_chars_max)?;
    let id = UserId::mint(ctx.mint_at, ctx.rng);
    d.put_user(User {
        id,
        name: name.to_owned(),
        status: UserStatus::Active,
        created_at: ctx.now,
        logins: Logins::default(),
    });
    d.open_account(Account::open(AccountId::wallet(id), AccountKind::Wallet));
    let (key_id, secret) = mint_credentials(ctx.mint_at, ctx.rng);
    let owner = Owner::User { user_id: id };
    d.put_principal(Principal { key_id, secret: secret.clone(), owner, created_at: ctx.now });
    d.emit(Event { at: ctx.now, what: EventKind::UserCreated { user_id: id } });
    Ok(Reply::User(UserCreated { user_id: id, name: name.to_owned(), key_id, secret }))
}

pub fn create_operator<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, name: &str, roles: &[Role]) -> Decision {
    check_name("name", name, ctx.limits.name_chars_max)?;
    let roles = normalise_roles(roles)?;
    let (key_id, secret) = mint_credentials(ctx.mint_at, ctx.rng);
    let owner = Owner::Operator { name: name.to_owned(), roles: roles.clone() };
    d.put_principal(Principal { key_id, secret: secret.clone(), owner, created_at: ctx.now });
    let what = EventKind::OperatorCreated { key_id, name: name.to_owned(), roles: roles.clone() };
    d.emit(Event { at: ctx.now, what });
    Ok(Reply::Operator(OperatorCreated { name: name.to_owned(), roles, key_id, secret }))
}

pub fn create_group<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    name: &str,
    members: &[UserId],
) -> Decision {
    check_name("name", name, ctx.limits.name_chars_max)?;
    let mut all: Vec<UserId> = members.iter().copied().chain([actor]).collect();
    all.sort_unstable();
    all.dedup();
    let max = ctx.limits.group_members_max;
    if all.len() > max as usize {
        return Err(CoreError::invalid(format!("a group has at most {max} members, the caller included")).into());
    }
    user(d, actor)?;
    // Ask for every unknown member at once rather than one per rerun.
    let world = d.world();
    world.need(all.iter().map(|&m| Key::User(m)))?;
    for &member in &all {
        if world.user(member)?.is_none() {
            return Err(CoreError::invalid(format!("unknown user {member}")).into());
        }
    }
    let group = Group {
        id: GroupId::mint(ctx.mint_at, ctx.rng),
        name: name.to_owned(),
        owner: actor,
        members: all,
        created_at: ctx.now,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::GroupCreated { group_id: group.id, owner: actor, members: group.size() },
    });
    let view = GroupView::from(&group);
    d.put_group(group);
    Ok(Reply::Group(view))
}
