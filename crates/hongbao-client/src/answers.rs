//! The optional parts of a request, as builders. The bodies and answers themselves are
//! `hongbao_wire`'s, the same types the server uses.

/// The optional fields of `POST /v1/packets`. `None` leaves the field out of the body, so the
/// server's default applies (the standard greeting, no delay).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketOptions {
    pub greeting: Option<String>,
    /// 0, 7200 or 86400 in the API; other values are sent as they are, for tests.
    pub arrival_delay_seconds: Option<u32>,
    /// An exclusive packet's `risk_confirmation`: the token a `409 risk_confirmation_required`
    /// answered.
    pub risk_confirmation: Option<String>,
}

impl PacketOptions {
    pub fn greeting(mut self, greeting: impl Into<String>) -> PacketOptions {
        self.greeting = Some(greeting.into());
        self
    }

    pub fn arrival_delay_seconds(mut self, delay_s: u32) -> PacketOptions {
        self.arrival_delay_seconds = Some(delay_s);
        self
    }
}

/// The optional fields of `POST /v1/transfers`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferOptions {
    pub note: Option<String>,
    pub arrival_delay_seconds: Option<u32>,
    /// The token a `409 risk_confirmation_required` answered to this same transfer.
    pub risk_confirmation: Option<String>,
}

impl TransferOptions {
    pub fn note(mut self, note: impl Into<String>) -> TransferOptions {
        self.note = Some(note.into());
        self
    }

    pub fn arrival_delay_seconds(mut self, delay_s: u32) -> TransferOptions {
        self.arrival_delay_seconds = Some(delay_s);
        self
    }
}
