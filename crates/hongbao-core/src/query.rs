//! Read-only questions, answered from a [`World`] with the same visibility rules as commands.
//!
//! Like [`crate::ops::execute`], [`answer`] may stop with [`Fail::Need`]; the shell loads what
//! is needed from a read snapshot and asks again.

use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::document::Document;
use crate::error::CoreError;
use crate::freeze::{Freeze, FreezeStatus, FreezeView, HoldView};
use crate::id::{AccountId, CaseId, DocumentId, FreezeId, GroupId, PacketId, SeizureId, UserId};
use crate::ops::visible_packet;
use crate::packet::{Claim, PacketView};
use crate::risk::FreezeKind;
use crate::seizure::SeizureView;
use crate::time::Timestamp;
use crate::user::{GroupView, MeView};
use crate::world::{Fail, Key, World};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum Query {
    /// A packet, as its sender or an eligible recipient sees it. Does not touch it.
    Packet { actor: UserId, packet: PacketId },
    /// The caller's own balances.
    Me { actor: UserId },
    /// A group the caller belongs to.
    Group { actor: UserId, group: GroupId },
    /// A freeze, as officers see it (the shell lets only officers and auditors ask).
    Freeze { freeze: FreezeId },
    /// A user's freezes, as officers see them, newest first, those of `status` and `kind` only
    /// when given.
    FreezesOf { user: UserId, status: Option<FreezeStatus>, kind: Option<FreezeKind> },
    /// The caller's own freezes, as the user sees them (`GET /v1/me/holds`), newest first.
    Holds { actor: UserId },
    /// These freezes, as officers see them, in this order (the shell lists the ids).
    Freezes { ids: Vec<FreezeId> },
    /// These forced transfers, as officers see them, in this order (the shell lists the ids).
    Seizures { ids: Vec<SeizureId> },
    /// A case, as officers see it (the shell lets only officers and auditors ask).
    Case { case: CaseId },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Packet(PacketView),
    Me(MeView),
    Group(GroupView),
    Freeze(FreezeView),
    Freezes(Vec<FreezeView>),
    Holds(Vec<HoldView>),
    Seizures(Vec<SeizureView>),
    Case(Case),
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

typed_answers! {
    Packet(PacketView),
    Me(MeView),
    Group(GroupView),
    Freeze(FreezeView),
    Freezes(Vec<FreezeView>),
    Holds(Vec<HoldView>),
    Seizures(Vec<SeizureView>),
    Case(Case),
}

impl Answer {
    /// The answer's kind, for messages.
    pub const fn kind(&self) -> &'static str {
        match self {
            Answer::Packet(_) => "packet",
            Answer::Me(_) => "me",
            Answer::Group(_) => "group",
            Answer::Freeze(_) => "freeze",
            Answer::Freezes(_) => "freezes",
            Answer::Holds(_) => "holds",
            Answer::Seizures(_) => "seizures",
            Answer::Case(_) => "case",
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
        Query::Freeze { freeze } => {
            let freeze = world.freeze(freeze)?.ok_or_else(|| CoreError::not_found("freeze"))?;
            Ok(Answer::Freeze(FreezeView::new(freeze, &documents_of(world, &[freeze])?)))
        }
        Query::FreezesOf { user, status, kind } => {
            if world.user(user)?.is_none() {
                return Err(CoreError::not_found("user").into());
            }
            let mut freezes = world.freezes_of(user)?;
            freezes.retain(|f| status.is_none_or(|s| f.status == s) && kind.is_none_or(|k| f.kind == k));
            freezes.reverse();
            let documents = documents_of(world, &freezes)?;
            Ok(Answer::Freezes(freezes.into_iter().map(|f| FreezeView::new(f, &cited(&documents, f))).collect()))
        }
        Query::Freezes { ref ids } => {
            world.need(ids.iter().map(|&id| Key::Freeze(id)))?;
            let freezes: Vec<&Freeze> = ids.iter().filter_map(|&id| world.freeze(id).ok().flatten()).collect();
            let documents = documents_of(world, &freezes)?;
            Ok(Answer::Freezes(freezes.into_iter().map(|f| FreezeView::new(f, &cited(&documents, f))).collect()))
        }
        Query::Seizures { ref ids } => {
            world.need(ids.iter().map(|&id| Key::Seizure(id)))?;
            let mut views = Vec::with_capacity(ids.len());
            for &id in ids {
                let seizure = world.seizure(id)?.ok_or_else(|| CoreError::not_found("forced transfer"))?;
                views.push(SeizureView::new(seizure, &world.documents_named(&seizure.documents)?));
            }
            Ok(Answer::Seizures(views))
        }
        Query::Case { case } => {
            Ok(Answer::Case(world.case(case)?.cloned().ok_or_else(|| CoreError::not_found("case"))?))
        }
        Query::Holds { actor } => {
            let mut freezes = world.freezes_of(actor)?;
            freezes.reverse();
            let documents = documents_of(world, &freezes)?;
            Ok(Answer::Holds(freezes.into_iter().map(|f| HoldView::new(f, &cited(&documents, f))).collect()))
        }
    }
}

/// Every document `freezes` cite, asking for all those not loaded at once.
fn documents_of<'w>(world: &'w World, freezes: &[&Freeze]) -> Result<Vec<&'w Document>, Fail> {
    let ids: Vec<DocumentId> = freezes.iter().flat_map(|f| f.documents.iter().copied()).collect();
    world.documents_named(&ids)
}

/// The documents of `freeze` among `documents`, in its order.
fn cited<'d>(documents: &[&'d Document], freeze: &Freeze) -> Vec<&'d Document> {
    freeze.documents.iter().filter_map(|id| documents.iter().find(|d| d.id == *id).copied()).collect()
}
