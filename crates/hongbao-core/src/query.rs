//! Read-only questions, answered from a [`World`] with the same visibility rules as commands.
//!
//! Like [`crate::ops::execute`], [`answer`] may stop with [`Fail::Need`]; the shell loads what
//! is needed from a read snapshot and asks again.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::id::{AccountId, GroupId, PacketId, UserId};
use crate::ops::visible_packet;
use crate::packet::{Claim, PacketView};
use crate::time::Timestamp;
use crate::user::{GroupView, MeView};
use crate::world::{Fail, World};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum Query {
    /// A packet, as its sender or an eligible recipient sees it. Does not touch it.
    Packet { actor: UserId, packet: PacketId },
    /// The caller's own balances.
    Me { actor: UserId },
    /// A group the caller belongs to.
    Group { actor: UserId, group: GroupId },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Packet(PacketView),
    Me(MeView),
    Group(GroupView),
}

/// `TryFrom<Answer>` for each answer type: a caller names the answer it expects (see
/// [`Reply`](crate::ops::Reply) for commands).
macro_rules! typed_answers {
    ($($variant:ident($answer:ty)),* $(,)?) => {
        $(
            impl TryFrom<Answer> for $answer {
                type Error = Answer;

                fn try_from(answer: Answer) -> Result<$answer, Answer> {
                    match answer {
                        Answer::$variant(typed) => Ok(typed),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

typed_answers! { Packet(PacketView), Me(MeView), Group(GroupView) }

impl Answer {
    /// The answer's kind, for messages.
    pub const fn kind(&self) -> &'static str {
        match self {
            Answer::Packet(_) => "packet",
            Answer::Me(_) => "me",
            Answer::Group(_) => "group",
        }
    }
}

/// Answers `query` at `now`.
///
/// # Errors
/// [`Fail::Need`] when the world lacks an entity; [`CoreError::NotFound`] for anything the
/// caller may not see.
pub fn answer(world: &World, now: Timestamp, query: &Query) -> Result<Answer, Fail> {
    match *query {
        Query::Packet { actor, packet } => {
            let (packet, _) = visible_packet(world, actor, packet)?;
            let claims: Vec<Claim> = world.claims_of(packet.id)?.into_iter().cloned().collect();
            Ok(Answer::Packet(PacketView::new(packet, &claims, now)?))
        }
        Query::Me { actor } => {
            let user = world.user(actor)?.ok_or_else(|| CoreError::not_found("user"))?;
            let wallet = world.account(AccountId::wallet(actor))?.ok_or_else(|| CoreError::not_found("wallet"))?;
            Ok(Answer::Me(MeView::new(user, wallet)?))
        }
        Query::Group { actor, group } => match world.group(group)? {
            Some(group) if group.has_member(actor) => Ok(Answer::Group(GroupView::from(group))),
            _ => Err(CoreError::not_found("group").into()),
        },
    }
}
