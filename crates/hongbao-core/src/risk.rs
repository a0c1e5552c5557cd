//! The numbers of risk control and legal holds, as one validated table of configuration
//! (`[limits.risk]`): each kind of freeze with its legal term and renewals, the rules that fire
//! by themselves (fraud reports, anomalous receipts, fan-in), and the tiers of warning before a
//! payment. `GET /v1/risk/rules` shows what is in force; docs/API.md documents every field.
//!
//! The defaults are the terms of docs/API.md "Risk control and legal holds" (a court freeze at
//! most a year, a police freeze six months or a year in a major case, 48 hours for an emergency
//! stop or a precautionary freeze). A configuration may shorten or lengthen them within sane
//! bounds; [`RiskRules::validate`] refuses what would make them unsound.

use serde::{Deserialize, Serialize};

/// Seconds in a day, for the defaults below.
const DAY_S: u32 = 24 * 3600;
/// The longest any term, window or renewal may be configured: ten years.
const TERM_MAX_S: u32 = 3650 * DAY_S;

/// The kinds of freeze (冻结), each with who may place it and the document it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FreezeKind {
    /// 法院冻结: a court ruling and an assistance notice, by a legal officer.
    Court,
    /// 公安冻结: a police assistance-to-freeze notice, by a legal officer.
    Police,
    /// 紧急止付: a stop-payment order, by a legal officer.
    EmergencyStop,
    /// 风控冻结: by a risk officer, or by the fraud-reports rule; no document.
    Precautionary,
    /// By the anomaly rule, until a risk officer releases it.
    Anomaly,
}

impl FreezeKind {
    pub const ALL: [FreezeKind; 5] = [
        FreezeKind::Court,
        FreezeKind::Police,
        FreezeKind::EmergencyStop,
        FreezeKind::Precautionary,
        FreezeKind::Anomaly,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            FreezeKind::Court => "court",
            FreezeKind::Police => "police",
            FreezeKind::EmergencyStop => "emergency_stop",
            FreezeKind::Precautionary => "precautionary",
            FreezeKind::Anomaly => "anomaly",
        }
    }

    /// Whether placing, renewing, releasing or seizing under it must cite a document.
    pub const fn needs_document(self) -> bool {
        matches!(self, FreezeKind::Court | FreezeKind::Police | FreezeKind::EmergencyStop)
    }
}

/// One kind of freeze's term and renewals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeTerm {
    /// The longest a freeze of this kind may last, and each renewal extend it, in seconds;
    /// `null`: no end of its own (an anomaly freeze lasts until a risk officer releases it).
    pub term_max_s: Option<u32>,
    /// The longest term in a major case (`major_case: true`), in seconds; `null`: as `term_max_s`.
    pub major_case_term_max_s: Option<u32>,
    /// How many times it may be renewed before it ends; `null`: any number of times, each by a
    /// new document.
    pub renewals_max: Option<u32>,
}

impl FreezeTerm {
    /// The longest term, in seconds, of a freeze of this kind (in a major case or not); `None`:
    /// it has no end of its own.
    pub fn longest_s(&self, major_case: bool) -> Option<u32> {
        if major_case { self.major_case_term_max_s.or(self.term_max_s) } else { self.term_max_s }
    }

    const fn of(term_max_s: Option<u32>, major_case_term_max_s: Option<u32>, renewals_max: Option<u32>) -> FreezeTerm {
        FreezeTerm { term_max_s, major_case_term_max_s, renewals_max }
    }
}

/// Every kind's term: the table of docs/API.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeTerms {
    pub court: FreezeTerm,
    pub police: FreezeTerm,
    pub emergency_stop: FreezeTerm,
    pub precautionary: FreezeTerm,
    pub anomaly: FreezeTerm,
}

impl Default for FreezeTerms {
    fn default() -> Self {
        FreezeTerms {
            court: FreezeTerm::of(Some(365 * DAY_S), None, None),
            police: FreezeTerm::of(Some(183 * DAY_S), Some(365 * DAY_S), None),
            emergency_stop: FreezeTerm::of(Some(2 * DAY_S), None, Some(1)),
            precautionary: FreezeTerm::of(Some(2 * DAY_S), None, Some(1)),
            anomaly: FreezeTerm::of(None, None, Some(0)),
        }
    }
}

impl FreezeTerms {
    pub fn of(&self, kind: FreezeKind) -> &FreezeTerm {
        match kind {
            FreezeKind::Court => &self.court,
            FreezeKind::Police => &self.police,
            FreezeKind::EmergencyStop => &self.emergency_stop,
            FreezeKind::Precautionary => &self.precautionary,
            FreezeKind::Anomaly => &self.anomaly,
        }
    }
}

/// `fraud_reports`: this many different reporters, each citing at least `evidence_min` evidence
/// files, with open reports on one subject within `window_s` → a case and a precautionary
/// freeze of the reported amounts' sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FraudReportsRule {
    pub enabled: bool,
    pub reporters_min: u32,
    pub evidence_min: u32,
    pub window_s: u32,
}

impl Default for FraudReportsRule {
    fn default() -> Self {
        FraudReportsRule { enabled: true, reporters_min: 3, evidence_min: 1, window_s: 7 * DAY_S }
    }
}

/// `anomaly_receipts_new_region`: at least `receipts_min` incoming claims or transfers within
/// `receipts_window_s`, and a login from a region not seen for `region_unseen_s`, both within
/// `together_within_s` → an anomaly freeze of the whole wallet, a lock and a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnomalyRule {
    pub enabled: bool,
    pub receipts_min: u32,
    pub receipts_window_s: u32,
    pub region_unseen_s: u32,
    pub together_within_s: u32,
}

impl Default for AnomalyRule {
    fn default() -> Self {
        AnomalyRule {
            enabled: true,
            receipts_min: 30,
            receipts_window_s: 600,
            region_unseen_s: 30 * DAY_S,
            together_within_s: 3600,
        }
    }
}

/// `aml_fan_in`: at least `payers_min` distinct payers within `window_s`, followed by a
/// withdrawal of at least `withdrawn_percent_min` % of what arrived → a case for review
/// (nothing is held).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FanInRule {
    pub enabled: bool,
    pub payers_min: u32,
    pub window_s: u32,
    pub withdrawn_percent_min: u32,
}

impl Default for FanInRule {
    fn default() -> Self {
        FanInRule { enabled: true, payers_min: 50, window_s: DAY_S, withdrawn_percent_min: 80 }
    }
}

/// The tiers of warning before a transfer or an exclusive packet (分级预警).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarningTiers {
    /// `notice` when the payee's account is younger than this, in seconds (or shares no group
    /// with the payer).
    pub notice_account_younger_than_s: u32,
    /// `confirm` at or above this amount, in fen (or when the payee has an open report).
    pub confirm_amount_min_fen: i64,
    /// How long a confirmation token stays usable, in seconds.
    pub confirm_token_ttl_s: u32,
}

impl Default for WarningTiers {
    fn default() -> Self {
        WarningTiers {
            notice_account_younger_than_s: 7 * DAY_S,
            confirm_amount_min_fen: 500_000,
            confirm_token_ttl_s: 600,
        }
    }
}

/// The whole table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskRules {
    pub freezes: FreezeTerms,
    pub fraud_reports: FraudReportsRule,
    pub anomaly_receipts_new_region: AnomalyRule,
    pub aml_fan_in: FanInRule,
    pub warnings: WarningTiers,
}

impl RiskRules {
    /// # Errors
    /// The first field out of bounds, named by its path under `risk`.
    pub fn validate(&self) -> Result<(), String> {
        for kind in FreezeKind::ALL {
            let term = self.freezes.of(kind);
            let name = kind.as_str();
            for (field, value) in
                [("term_max_s", term.term_max_s), ("major_case_term_max_s", term.major_case_term_max_s)]
            {
                if let Some(value) = value.filter(|v| !(1..=TERM_MAX_S).contains(v)) {
                    return Err(format!(
                        "risk.freezes.{name}.{field} is {value}; it must be 1 to {TERM_MAX_S} (ten years)"
                    ));
                }
            }
            if term.term_max_s.is_none() && term.major_case_term_max_s.is_some() {
                return Err(format!("risk.freezes.{name}.major_case_term_max_s needs a term_max_s"));
            }
            if let (Some(term_s), Some(major_s)) = (term.term_max_s, term.major_case_term_max_s)
                && major_s < term_s
            {
                return Err(format!("risk.freezes.{name}.major_case_term_max_s must be at least term_max_s"));
            }
            if term.renewals_max.is_some_and(|n| n > 1000) {
                return Err(format!("risk.freezes.{name}.renewals_max must be at most 1000"));
            }
        }
        if self.freezes.court.term_max_s.is_none() || self.freezes.police.term_max_s.is_none() {
            return Err("risk.freezes.court and risk.freezes.police need a term_max_s: a legal freeze ends".to_owned());
        }
        let reports = &self.fraud_reports;
        let anomaly = &self.anomaly_receipts_new_region;
        let fan_in = &self.aml_fan_in;
        let warnings = &self.warnings;
        let counts = [
            ("fraud_reports.reporters_min", reports.reporters_min, 1, 1000),
            ("fraud_reports.evidence_min", reports.evidence_min, 0, 100),
            ("fraud_reports.window_s", reports.window_s, 1, TERM_MAX_S),
            ("anomaly_receipts_new_region.receipts_min", anomaly.receipts_min, 1, 1_000_000),
            ("anomaly_receipts_new_region.receipts_window_s", anomaly.receipts_window_s, 1, 30 * DAY_S),
            ("anomaly_receipts_new_region.region_unseen_s", anomaly.region_unseen_s, 1, TERM_MAX_S),
            ("anomaly_receipts_new_region.together_within_s", anomaly.together_within_s, 1, 30 * DAY_S),
            // The rule reads at most the window's first receipts; more payers it could not count.
            ("aml_fan_in.payers_min", fan_in.payers_min, 1, crate::world::RECEIPTS_MAX),
            ("aml_fan_in.window_s", fan_in.window_s, 1, 365 * DAY_S),
            ("aml_fan_in.withdrawn_percent_min", fan_in.withdrawn_percent_min, 1, 100),
            ("warnings.notice_account_younger_than_s", warnings.notice_account_younger_than_s, 0, TERM_MAX_S),
            ("warnings.confirm_token_ttl_s", warnings.confirm_token_ttl_s, 1, DAY_S),
        ];
        for (field, value, min, max) in counts {
            if !(min..=max).contains(&value) {
                return Err(format!("risk.{field} is {value}; it must be {min} to {max}"));
            }
        }
        if !(1..=1_000_000_000_000).contains(&warnings.confirm_amount_min_fen) {
            return Err("risk.warnings.confirm_amount_min_fen must be 1 to 1000000000000".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_terms_and_thresholds_of_the_contract_and_are_valid() {
        let rules = RiskRules::default();
        assert_eq!(rules.validate(), Ok(()));
        assert_eq!(rules.freezes.court.term_max_s, Some(365 * DAY_S));
        assert_eq!(
            (rules.freezes.police.term_max_s, rules.freezes.police.major_case_term_max_s),
            (Some(183 * DAY_S), Some(365 * DAY_S))
        );
        assert_eq!(rules.freezes.emergency_stop, FreezeTerm::of(Some(48 * 3600), None, Some(1)));
        assert_eq!(rules.freezes.precautionary, FreezeTerm::of(Some(48 * 3600), None, Some(1)));
        assert_eq!(rules.freezes.anomaly.term_max_s, None);
        assert_eq!((rules.fraud_reports.reporters_min, rules.fraud_reports.window_s), (3, 7 * DAY_S));
        assert_eq!(
            (rules.anomaly_receipts_new_region.receipts_min, rules.anomaly_receipts_new_region.receipts_window_s),
            (30, 600)
        );
        assert_eq!((rules.aml_fan_in.payers_min, rules.aml_fan_in.withdrawn_percent_min), (50, 80));
        assert_eq!((rules.warnings.confirm_amount_min_fen, rules.warnings.confirm_token_ttl_s), (500_000, 600));
    }

    #[test]
    fn an_unsound_table_is_refused_naming_the_field() {
        type Spoil = fn(&mut RiskRules);
        let cases: [(Spoil, &str); 8] = [
            (|r| r.freezes.court.term_max_s = None, "risk.freezes.court"),
            (|r| r.freezes.police.term_max_s = Some(0), "risk.freezes.police.term_max_s"),
            (|r| r.freezes.police.major_case_term_max_s = Some(DAY_S), "major_case_term_max_s must be at least"),
            (|r| r.freezes.anomaly.major_case_term_max_s = Some(DAY_S), "risk.freezes.anomaly.major_case_term_max_s"),
            (|r| r.fraud_reports.reporters_min = 0, "risk.fraud_reports.reporters_min"),
            (|r| r.aml_fan_in.withdrawn_percent_min = 101, "risk.aml_fan_in.withdrawn_percent_min"),
            (|r| r.warnings.confirm_token_ttl_s = 0, "risk.warnings.confirm_token_ttl_s"),
            (|r| r.warnings.confirm_amount_min_fen = 0, "risk.warnings.confirm_amount_min_fen"),
        ];
        for (spoil, field) in cases {
            let mut rules = RiskRules::default();
            spoil(&mut rules);
            let err = rules.validate().unwrap_err();
            assert!(err.contains(field), "{err} should name {field}");
        }
    }
}
