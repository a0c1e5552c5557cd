//! Loading what the core asks for into a batch's world, in bulk, with the groups the writer
//! keeps across batches ([`GroupCache`]).

use std::collections::{HashMap, HashSet};

use hongbao_core::user::Group;
use hongbao_core::{Fact, GroupId, Key, World};
use hongbao_store::{ReadTx, StoreError, WriteTx};

pub(crate) async fn load(tx: &mut dyn ReadTx, world: &mut World, keys: Vec<Key>) -> Result<(), StoreError> {
    load_with(tx, world, keys, None).await
}

/// Loads `keys` into `world`, the groups among them from `cache` when it holds them.
pub(crate) async fn load_with(
    tx: &mut dyn ReadTx,
    world: &mut World,
    keys: Vec<Key>,
    mut cache: Option<&mut GroupCache>,
) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    let keys: Vec<Key> = keys.into_iter().filter(|k| !world.knows(*k) && seen.insert(*k)).collect();
    if keys.is_empty() {
        return Err(StoreError::Corrupt("the core asked for data it already holds".to_owned()));
    }
    let from_store: Vec<Key> = match cache.as_deref() {
        Some(cache) => keys.iter().copied().filter(|key| !cache.lend(*key, world)).collect(),
        None => keys.clone(),
    };
    if !from_store.is_empty() {
        for fact in tx.load(&from_store).await? {
            if let Some(cache) = cache.as_deref_mut() {
                cache.keep(&fact);
            }
            world.learn(fact);
        }
    }
    if let Some(missing) = keys.iter().find(|k| !world.knows(**k)) {
        return Err(StoreError::Corrupt(format!("the store did not answer {missing:?}")));
    }
    Ok(())
}

/// Member entries the writer's group cache holds at most (a `UserId` is 16 bytes: 16 MiB).
pub(crate) const GROUP_CACHE_MEMBERS_MAX: usize = 1_000_000;

/// The groups the writer has loaded, kept across batches. A group never changes once created
/// (no command edits one), so a copy loaded from committed data stays true on every node; it
/// saves reading a group's whole member list again for every batch that claims from one of its
/// packets (a 500-member group is 500 rows). Only groups that exist are kept; a group a batch
/// writes is dropped from the cache all the same, should a later command ever edit one. When
/// it would hold more than [`GROUP_CACHE_MEMBERS_MAX`] members it starts again empty.
#[derive(Debug, Default)]
pub(crate) struct GroupCache {
    pub(crate) groups: HashMap<GroupId, Group>,
    pub(crate) members: usize,
}

impl GroupCache {
    /// Teaches `world` the group `key` names, if it is cached; `false` when it must be loaded.
    pub(crate) fn lend(&self, key: Key, world: &mut World) -> bool {
        let Key::Group(id) = key else { return false };
        let Some(group) = self.groups.get(&id) else { return false };
        world.learn(Fact::Group(id, Some(group.clone())));
        true
    }

    /// Keeps a group the store answered.
    pub(crate) fn keep(&mut self, fact: &Fact) {
        let Fact::Group(id, Some(group)) = fact else { return };
        if self.members.saturating_add(group.members.len()) > GROUP_CACHE_MEMBERS_MAX {
            self.groups.clear();
            self.members = 0;
        }
        if let Some(old) = self.groups.insert(*id, group.clone()) {
            self.members -= old.members.len();
        }
        self.members += group.members.len();
    }

    /// Drops the groups a batch writes.
    pub(crate) fn forget<'a>(&mut self, written: impl IntoIterator<Item = &'a Group>) {
        for group in written {
            if let Some(old) = self.groups.remove(&group.id) {
                self.members -= old.members.len();
            }
        }
    }
}

/// Where a batch reads what it decides from.
pub(crate) enum Reading<'t> {
    /// The batch's own write transaction: commands and background jobs.
    Write(&'t mut dyn WriteTx),
    /// A snapshot of what is committed, under the world of the batch still committing
    /// (commands only; see [`Writer::run`]).
    Snapshot(&'t mut dyn ReadTx),
}

impl Reading<'_> {
    pub(crate) fn tx(&mut self) -> &mut dyn ReadTx {
        match self {
            Reading::Write(tx) => &mut **tx,
            Reading::Snapshot(tx) => &mut **tx,
        }
    }
}
