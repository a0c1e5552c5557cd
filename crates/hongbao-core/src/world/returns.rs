//! The facts of return requests a command decides on: a request, and every request of one
//! payment (what came back of it, and whether one is open). Loaded and kept like the rest of
//! the world (see the parent module).

use crate::case::Payment;
use crate::due::{self, DueKind};
use crate::id::ReturnRequestId;
use crate::returns::ReturnRequest;

use super::{Fact, Fail, Key, World, put, read};

impl World {
    pub fn return_request(&self, id: ReturnRequestId) -> Result<Option<&ReturnRequest>, Fail> {
        read(&self.return_requests, &id, self.complete, Key::ReturnRequest(id))
    }

    /// Every request ever made for `target`, oldest first.
    pub fn returns_of(&self, target: Payment) -> Result<Vec<&ReturnRequest>, Fail> {
        let mut found: Vec<&ReturnRequest> = match self.returns_of.get(&target) {
            Some(ids) => ids.iter().filter_map(|id| self.return_requests.get(id).and_then(Option::as_ref)).collect(),
            None if self.complete => self.return_requests().filter(|r| r.target == target).collect(),
            None => return Err(Fail::Need(vec![Key::ReturnsOf(target)])),
        };
        found.sort_unstable_by_key(|r| r.id);
        Ok(found)
    }

    pub fn return_requests(&self) -> impl Iterator<Item = &ReturnRequest> {
        self.return_requests.values().flatten()
    }

    /// Takes in a return request's fact a store found (see [`World::learn`]).
    pub(super) fn learn_returns(&mut self, fact: Fact) {
        match fact {
            Fact::ReturnRequest(id, request) => {
                self.return_requests.entry(id).or_insert(request);
            }
            Fact::ReturnsOf(target, stored) => {
                if self.returns_of.contains_key(&target) {
                    return;
                }
                for request in stored {
                    self.return_requests.entry(request.id).or_insert(Some(request));
                }
                // The stored requests plus those this batch made and has not written yet.
                let ids: Vec<ReturnRequestId> =
                    self.return_requests().filter(|r| r.target == target).map(|r| r.id).collect();
                self.returns_of.insert(target, ids);
            }
            _ => unreachable!("learn hands over return requests' facts only"),
        }
    }

    /// Absorbs the requests a successful command put, with the expiry each implies.
    pub(super) fn apply_returns(&mut self, requests: Vec<ReturnRequest>) {
        for request in requests {
            let (id, target) = (request.id, request.target);
            let before = self.return_requests.get(&id).and_then(Option::as_ref).and_then(due::of_return_request);
            self.dirty.note_deadline(DueKind::ReturnExpiry, id.uuid(), before, due::of_return_request(&request));
            if !put(&mut self.return_requests, &mut self.dirty.return_requests, id, request)
                && let Some(list) = self.returns_of.get_mut(&target)
            {
                list.push(id);
            }
        }
    }
}
