//! What goes over HTTP: the request bodies and query parameters clients send, the answer
//! bodies the server returns and the one error shape — defined once, for the server
//! (`hongbao-server` deserializes requests and serializes answers with these types) and the
//! client (`hongbao-client` does the opposite), so the two cannot drift. With the feature
//! `openapi` each type also describes itself for the server's OpenAPI document.
//!
//! - [`requests`] — bodies and query parameters, as the API accepts them (unknown fields refused).
//! - [`answers`] — the answers that have no type in the core: history pages, the log's views,
//!   receipts, the development clock. The answers that *are* core views ([`PacketView`],
//!   [`MeView`], [`ClaimReceipt`], …) serialize to exactly the API's JSON and are re-exported
//!   here, so a client finds every answer in one place.
//! - [`returns`] — return requests: their bodies, parameters and page.
//! - [`error`] — `{"error": {"code", "message", …}}`.
//!
//! docs/API.md is the reference these types implement; a change here is a change of the API.

pub mod answers;
pub mod error;
pub mod requests;
pub mod returns;

pub use answers::{
    ConsistencyProof, DevClockAnswer, Direction, EntriesPage, EntryView, InclusionProof, PacketLog, ProvenEntry,
    ReceiptView, TransactionItem, TransactionsPage,
};
pub use error::{ErrorBody, ErrorObject};
pub use hongbao_core::ops::{
    ClaimDetail, DocumentRegistered, DocumentRevealed, Moved, OperatorCreated, Recalled, SignalAccepted,
    TransferReceipt, TransferStatus, UserCreated,
};
pub use hongbao_core::packet::{ClaimReceipt, PacketView};
pub use hongbao_core::user::{GroupView, MeView};
pub use requests::{
    AmountRequest, CasesParams, CloseCaseRequest, ConsistencyParams, ConvertFreezeRequest, CreateGroupRequest,
    CreateOperatorRequest, CreateUserRequest, DevClockRequest, EntriesParams, FileReportRequest, FreezesParams,
    HistoryParams, InclusionParams, NoteRequest, PlaceFreezeRequest, ProposeSeizureRequest, ReasonRequest,
    RegisterDocumentRequest, ReleaseFreezeRequest, RenewFreezeRequest, ReportsParams, RevealRequest, SeizuresParams,
    SendPacketRequest, SignalKind, SignalRequest, TransferRequest,
};
pub use returns::{
    DeclineReturnRequestBody, OpenReturnRequestBody, ReturnNote, ReturnRequest, ReturnRequestsPage,
    ReturnRequestsParams, ReturnRole, ReturnStatus,
};
