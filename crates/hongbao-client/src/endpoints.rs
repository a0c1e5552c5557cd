//! One [`Client`] method per endpoint of docs/API.md, by section: each builds its [`Call`].

use hongbao_core::case::{Case, CaseKind, CaseOutcome, CaseStatus, Report};
use hongbao_core::evidence::{ContentType, EvidenceView};
use hongbao_core::freeze::{FreezeStatus, FreezeView, HoldView};
use hongbao_core::ops::{ClaimDetail, Moved, OperatorCreated, PacketSpec, Recalled, TransferReceipt, UserCreated};
use hongbao_core::packet::{ClaimReceipt, PacketView};
use hongbao_core::principal::Role;
use hongbao_core::risk::{FreezeKind, RiskRules};
use hongbao_core::seizure::{SeizureStatus, SeizureView};
use hongbao_core::signal::Signal;
use hongbao_core::user::{GroupView, MeView};
use hongbao_core::{
    CaseId, ClaimId, DocumentId, EvidenceId, Fen, FreezeId, GroupId, PacketId, ReturnRequestId, SeizureId, TransferId,
    UserId,
};
use hongbao_wire::{
    AmountRequest, CloseCaseRequest, ConvertFreezeRequest, CreateGroupRequest, CreateOperatorRequest,
    CreateUserRequest, DevClockAnswer, DevClockRequest, DocumentRegistered, DocumentRevealed, FileReportRequest,
    NoteRequest, PlaceFreezeRequest, ProposeSeizureRequest, ReasonRequest, ReceiptView, RegisterDocumentRequest,
    ReleaseFreezeRequest, RenewFreezeRequest, RevealRequest, SendPacketRequest, SignalAccepted, SignalRequest,
    TransactionsPage, TransferRequest,
};
use hongbao_wire::{DeclineReturnRequestBody, OpenReturnRequestBody, ReturnRequest, ReturnRequestsPage, ReturnRole};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use crate::answers::{PacketOptions, TransferOptions};
use crate::client::{Call, Client, percent_encode};
use crate::error::ClientError;

impl Client {
    // Users and money: docs/API.md "Users and operators" and "Money".

    /// `POST /v1/users` (admin): a user and their credentials, the only time the secret is shown.
    pub fn create_user(&self, name: &str) -> Call<'_, UserCreated> {
        self.post("/v1/users".into(), Some(&CreateUserRequest { name: name.to_owned() }))
    }

    /// `POST /v1/operators` (admin).
    pub fn create_operator(&self, name: &str, roles: &[Role]) -> Call<'_, OperatorCreated> {
        self.post("/v1/operators".into(), Some(&CreateOperatorRequest { name: name.to_owned(), roles: roles.to_vec() }))
    }

    /// `POST /v1/users/{user}/deposits` (admin): money arriving from a bank card.
    pub fn deposit(&self, user: UserId, amount: Fen) -> Call<'_, Moved> {
        self.post(format!("/v1/users/{user}/deposits"), Some(&AmountRequest::new(amount)))
    }

    /// `GET /v1/me` (user).
    pub fn me(&self) -> Call<'_, MeView> {
        self.get("/v1/me".into())
    }

    /// `POST /v1/me/withdrawals` (user).
    pub fn withdraw(&self, amount: Fen) -> Call<'_, Moved> {
        self.post("/v1/me/withdrawals".into(), Some(&AmountRequest::new(amount)))
    }

    /// `GET /v1/me/transactions?limit=&cursor=` (user), newest first. The cursor is
    /// percent-encoded; parameters left `None` are left out.
    pub fn transactions(&self, limit: Option<u32>, cursor: Option<&str>) -> Call<'_, TransactionsPage> {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(cursor) = cursor {
            query.push(format!("cursor={}", percent_encode(cursor)));
        }
        self.get(with_query("/v1/me/transactions", &query))
    }

    // Groups.

    /// `POST /v1/groups` (user); the caller is always a member.
    pub fn create_group(&self, name: &str, members: &[UserId]) -> Call<'_, GroupView> {
        self.post("/v1/groups".into(), Some(&CreateGroupRequest { name: name.to_owned(), members: members.to_vec() }))
    }

    /// `GET /v1/groups/{group}` (member).
    pub fn group(&self, group: GroupId) -> Call<'_, GroupView> {
        self.get(format!("/v1/groups/{group}"))
    }

    // Red packets.

    /// `POST /v1/packets` (user): sends a normal, lucky or exclusive packet. The body is
    /// `spec` (its `kind` tag and fields are the API's) plus the options that are set.
    pub fn send_packet(&self, spec: &PacketSpec, options: &PacketOptions) -> Call<'_, PacketView> {
        let body = SendPacketRequest::new(spec, options.greeting.clone(), options.arrival_delay_seconds)
            .confirmed(options.risk_confirmation.clone());
        self.post("/v1/packets".into(), Some(&body))
    }

    /// `GET /v1/packets/{id}` (sender, eligible): does not touch the packet.
    pub fn packet(&self, packet: PacketId) -> Call<'_, PacketView> {
        self.get(format!("/v1/packets/{packet}"))
    }

    /// `GET /v1/receipts/{transfer_id}` (a party to the transfer): its receipt.
    pub fn receipt(&self, transfer: TransferId) -> Call<'_, ReceiptView> {
        self.get(format!("/v1/receipts/{transfer}"))
    }

    /// `POST /v1/packets/{id}/open` (eligible): a recipient opening it touches it.
    pub fn open(&self, packet: PacketId) -> Call<'_, PacketView> {
        self.post(format!("/v1/packets/{packet}/open"), None::<&()>)
    }

    /// `POST /v1/packets/{id}/claim` (eligible).
    pub fn claim(&self, packet: PacketId) -> Call<'_, ClaimReceipt> {
        self.post(format!("/v1/packets/{packet}/claim"), None::<&()>)
    }

    /// `POST /v1/packets/{id}/recall` (sender).
    pub fn recall(&self, packet: PacketId) -> Call<'_, Recalled> {
        self.post(format!("/v1/packets/{packet}/recall"), None::<&()>)
    }

    /// `POST /v1/claims/{id}/revoke` (the packet's sender), while the claim is pending.
    pub fn revoke_claim(&self, claim: ClaimId) -> Call<'_, ClaimDetail> {
        self.post(format!("/v1/claims/{claim}/revoke"), None::<&()>)
    }

    /// `POST /v1/claims/{id}/return` (claimant): gives the amount back to the sender.
    pub fn return_claim(&self, claim: ClaimId) -> Call<'_, ClaimDetail> {
        self.post(format!("/v1/claims/{claim}/return"), None::<&()>)
    }

    // Transfers.

    /// `POST /v1/transfers` (user).
    pub fn transfer(&self, to: UserId, amount: Fen, options: &TransferOptions) -> Call<'_, TransferReceipt> {
        let body = TransferRequest {
            to,
            amount: amount.get(),
            note: options.note.clone(),
            arrival_delay_seconds: options.arrival_delay_seconds,
            risk_confirmation: options.risk_confirmation.clone(),
        };
        self.post("/v1/transfers".into(), Some(&body))
    }

    /// `POST /v1/transfers/{id}/revoke` (sender), while the transfer is pending.
    pub fn revoke_transfer(&self, transfer: TransferId) -> Call<'_, TransferReceipt> {
        self.post(format!("/v1/transfers/{transfer}/revoke"), None::<&()>)
    }

    // Risk control and legal holds.

    /// `POST /v1/users/{user}/lock` (risk_officer): the user may receive but not pay or claim.
    pub fn lock_user(&self, user: UserId, reason: &str) -> Call<'_, MeView> {
        self.post(format!("/v1/users/{user}/lock"), Some(&ReasonRequest { reason: reason.to_owned() }))
    }

    /// `POST /v1/users/{user}/unlock` (risk_officer).
    pub fn unlock_user(&self, user: UserId, reason: &str) -> Call<'_, MeView> {
        self.post(format!("/v1/users/{user}/unlock"), Some(&ReasonRequest { reason: reason.to_owned() }))
    }

    /// `POST /v1/risk/signals` (admin): tells risk control about `user` (a login from a region).
    pub fn risk_signal(&self, user: UserId, signal: &Signal) -> Call<'_, SignalAccepted> {
        self.post("/v1/risk/signals".into(), Some(&SignalRequest::new(user, signal)))
    }

    /// `GET /v1/risk/rules` (any operator): freeze terms, rule thresholds, warning tiers in force.
    pub fn risk_rules(&self) -> Call<'_, RiskRules> {
        self.get("/v1/risk/rules".into())
    }

    /// `POST /v1/documents` (legal_officer, risk_officer): registers a legal document; the log
    /// records only its commitment.
    pub fn register_document(&self, body: &RegisterDocumentRequest) -> Call<'_, DocumentRegistered> {
        self.post("/v1/documents".into(), Some(body))
    }

    /// `POST /v1/documents/{document}/reveal` (legal_officer, risk_officer): logs the salt that
    /// opens the document's commitment.
    pub fn reveal_document(&self, document: DocumentId, reason: &str) -> Call<'_, DocumentRevealed> {
        self.post(format!("/v1/documents/{document}/reveal"), Some(&RevealRequest { reason: Some(reason.to_owned()) }))
    }

    /// `POST /v1/freezes` (legal_officer for court, police and emergency freezes, risk_officer
    /// for precautionary ones).
    pub fn place_freeze(&self, body: &PlaceFreezeRequest) -> Call<'_, FreezeView> {
        self.post("/v1/freezes".into(), Some(body))
    }

    /// `POST /v1/freezes/{freeze}/release`: all of it, or `body.amount`.
    pub fn release_freeze(&self, freeze: FreezeId, body: &ReleaseFreezeRequest) -> Call<'_, FreezeView> {
        self.post(format!("/v1/freezes/{freeze}/release"), Some(body))
    }

    /// `POST /v1/freezes/{freeze}/renew`.
    pub fn renew_freeze(&self, freeze: FreezeId, body: &RenewFreezeRequest) -> Call<'_, FreezeView> {
        self.post(format!("/v1/freezes/{freeze}/renew"), Some(body))
    }

    /// `POST /v1/freezes/{freeze}/convert` (legal_officer): answers the new freeze.
    pub fn convert_freeze(&self, freeze: FreezeId, body: &ConvertFreezeRequest) -> Call<'_, FreezeView> {
        self.post(format!("/v1/freezes/{freeze}/convert"), Some(body))
    }

    /// `POST /v1/seizures` (legal_officer): proposes; nothing moves until another approves.
    pub fn propose_seizure(&self, body: &ProposeSeizureRequest) -> Call<'_, SeizureView> {
        self.post("/v1/seizures".into(), Some(body))
    }

    /// `GET /v1/seizures?status=` (legal_officer, auditor), newest first.
    pub fn seizures(&self, status: Option<SeizureStatus>) -> Call<'_, Vec<SeizureView>> {
        match status {
            Some(status) => self.get(format!("/v1/seizures?status={}", status.as_str())),
            None => self.get("/v1/seizures".into()),
        }
    }

    /// `POST /v1/seizures/{seizure}/approve` (a legal officer other than the proposer).
    pub fn approve_seizure(&self, seizure: SeizureId) -> Call<'_, SeizureView> {
        self.post(format!("/v1/seizures/{seizure}/approve"), None::<&()>)
    }

    /// `POST /v1/seizures/{seizure}/reject` (legal_officer).
    pub fn reject_seizure(&self, seizure: SeizureId, reason: &str) -> Call<'_, SeizureView> {
        self.post(format!("/v1/seizures/{seizure}/reject"), Some(&ReasonRequest { reason: reason.to_owned() }))
    }

    /// `POST /v1/reports` (user): reports `subject` for fraud.
    pub fn file_report(&self, body: &FileReportRequest) -> Call<'_, Report> {
        self.post("/v1/reports".into(), Some(body))
    }

    /// `GET /v1/reports?subject=` (risk_officer, legal_officer, auditor), newest first.
    pub fn reports(&self, subject: UserId) -> Call<'_, Vec<Report>> {
        self.get(format!("/v1/reports?subject={subject}"))
    }

    /// `GET /v1/cases?status=&kind=` (risk_officer, legal_officer, auditor), newest first.
    pub fn cases(&self, status: Option<CaseStatus>, kind: Option<CaseKind>) -> Call<'_, Vec<Case>> {
        let mut query = Vec::new();
        if let Some(status) = status {
            query.push(format!("status={}", status.as_str()));
        }
        if let Some(kind) = kind {
            query.push(format!("kind={}", kind.as_str()));
        }
        self.get(with_query("/v1/cases", &query))
    }

    /// `GET /v1/cases/{case}`.
    pub fn case(&self, case: CaseId) -> Call<'_, Case> {
        self.get(format!("/v1/cases/{case}"))
    }

    /// `POST /v1/cases/{case}/notes` (risk_officer, legal_officer).
    pub fn note_case(&self, case: CaseId, text: &str) -> Call<'_, Case> {
        self.post(format!("/v1/cases/{case}/notes"), Some(&NoteRequest { text: text.to_owned() }))
    }

    /// `POST /v1/cases/{case}/close` (risk_officer, legal_officer).
    pub fn close_case(&self, case: CaseId, outcome: CaseOutcome, reason: &str) -> Call<'_, Case> {
        let body = CloseCaseRequest { outcome, reason: reason.to_owned() };
        self.post(format!("/v1/cases/{case}/close"), Some(&body))
    }

    /// `GET /v1/freezes?user_id=&status=&kind=` (risk_officer, legal_officer, auditor): one
    /// user's, or with `None` the newest across users.
    pub fn freezes(
        &self,
        user: Option<UserId>,
        status: Option<FreezeStatus>,
        kind: Option<FreezeKind>,
    ) -> Call<'_, Vec<FreezeView>> {
        let mut query = Vec::new();
        if let Some(user) = user {
            query.push(format!("user_id={user}"));
        }
        if let Some(status) = status {
            query.push(format!("status={}", status.as_str()));
        }
        if let Some(kind) = kind {
            query.push(format!("kind={}", kind.as_str()));
        }
        self.get(with_query("/v1/freezes", &query))
    }

    /// `GET /v1/freezes/{freeze}` (risk_officer, legal_officer, auditor).
    pub fn freeze(&self, freeze: FreezeId) -> Call<'_, FreezeView> {
        self.get(format!("/v1/freezes/{freeze}"))
    }

    /// `GET /v1/me/holds` (user): your freezes, without what is confidential.
    pub fn my_holds(&self) -> Call<'_, Vec<HoldView>> {
        self.get("/v1/me/holds".into())
    }

    // Return requests: docs/API.md "Return requests and disputes".

    /// `POST /v1/return-requests` (the payer): asks the payee of `body.target` to give it back.
    pub fn open_return_request(&self, body: &OpenReturnRequestBody) -> Call<'_, ReturnRequest> {
        self.post("/v1/return-requests".into(), Some(body))
    }

    /// `GET /v1/me/return-requests?role=&limit=&cursor=` (user), newest first; every role with
    /// `None`. Parameters left `None` are left out.
    pub fn return_requests(
        &self,
        role: Option<ReturnRole>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Call<'_, ReturnRequestsPage> {
        let mut query = Vec::new();
        if let Some(role) = role {
            query.push(format!("role={}", role.as_str()));
        }
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(cursor) = cursor {
            query.push(format!("cursor={}", percent_encode(cursor)));
        }
        self.get(with_query("/v1/me/return-requests", &query))
    }

    /// `POST /v1/return-requests/{request}/accept` (the payee): the money goes back at once.
    pub fn accept_return_request(&self, request: ReturnRequestId) -> Call<'_, ReturnRequest> {
        self.post(format!("/v1/return-requests/{request}/accept"), None::<&()>)
    }

    /// `POST /v1/return-requests/{request}/decline` (the payee).
    pub fn decline_return_request(&self, request: ReturnRequestId, message: &str) -> Call<'_, ReturnRequest> {
        let body = DeclineReturnRequestBody { message: message.to_owned() };
        self.post(format!("/v1/return-requests/{request}/decline"), Some(&body))
    }

    /// `POST /v1/return-requests/{request}/withdraw` (the payer).
    pub fn withdraw_return_request(&self, request: ReturnRequestId) -> Call<'_, ReturnRequest> {
        self.post(format!("/v1/return-requests/{request}/withdraw"), None::<&()>)
    }

    /// `POST /v1/return-requests/{request}/notes` (the payer, the payee or the mediator).
    pub fn note_return_request(&self, request: ReturnRequestId, text: &str) -> Call<'_, ReturnRequest> {
        self.post(format!("/v1/return-requests/{request}/notes"), Some(&NoteRequest { text: text.to_owned() }))
    }

    // Evidence files.

    /// `POST /v1/evidence` (any principal): stores `bytes` as a file of `content_type`; the
    /// same bytes again answer the same file.
    pub fn upload_evidence(&self, content_type: ContentType, bytes: Vec<u8>) -> Call<'_, EvidenceView> {
        self.call_with::<EvidenceView>(Method::POST, "/v1/evidence".into(), Ok(bytes))
            .header(CONTENT_TYPE.as_str(), content_type.as_str())
    }

    /// `GET /v1/evidence/{id}` (its uploader): the file's bytes, exactly as uploaded.
    ///
    /// # Errors
    /// [`ClientError::Api`] for the API's refusals (`not_found`), and what [`Client::send`]
    /// fails with.
    pub async fn evidence(&self, evidence: EvidenceId) -> Result<Vec<u8>, ClientError> {
        let call = self.get::<()>(format!("/v1/evidence/{evidence}"));
        Ok(call.send_raw().await?.error_for_status()?.body)
    }

    // Development and public endpoints.

    /// `POST /v1/dev/clock` (admin, `serve --dev-clock` only): moves the business clock
    /// forward and runs every job that became due.
    pub fn dev_clock(&self, advance_seconds: u32) -> Call<'_, DevClockAnswer> {
        self.post("/v1/dev/clock".into(), Some(&DevClockRequest { advance_seconds }))
    }
}

/// `path`, with `?` and the `query` parts joined by `&` when there are any.
fn with_query(path: &str, query: &[String]) -> String {
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_bodies_are_the_api_shape() {
        let group: GroupId = "grp_0190f0a0b0c0d0e0f000000000000000".parse().unwrap();
        let spec = PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(1000) };
        let options = PacketOptions::default().greeting("大吉");
        let body = SendPacketRequest::new(&spec, options.greeting.clone(), options.arrival_delay_seconds);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"kind": "lucky", "group_id": group.to_string(), "count": 3, "total": 1000, "greeting": "大吉"})
        );
    }
}
