//! Values typed on the command line that several client commands take: amounts in yuan,
//! converted exactly (`Fen::from_yuan`, no floats), and when money arrives (`Delay`).

use clap::ValueEnum;
use hongbao_core::Fen;
use hongbao_core::money::MoneyError;

const YUAN_RULE: &str = "a positive amount in yuan with at most two decimals, like 10, 10.5 or 10.05";

/// Parses a yuan amount typed by a person, exactly: `10`, `10.5`, `10.05`; at least ¥0.01.
pub(super) fn parse_yuan(text: &str) -> Result<Fen, String> {
    match Fen::from_yuan(text) {
        Ok(fen) if fen.is_positive() => Ok(fen),
        Ok(_) => Err(format!("`{text}` is not {YUAN_RULE} (the least is 0.01)")),
        Err(MoneyError::Overflow) => Err(format!("`{text}` is too large an amount")),
        Err(_) => Err(format!("`{text}` is not {YUAN_RULE}")),
    }
}

/// When the money arrives: the API allows exactly these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Delay {
    #[value(name = "0")]
    Now,
    #[value(name = "2h")]
    TwoHours,
    #[value(name = "24h")]
    OneDay,
}

impl Delay {
    pub(super) const fn seconds(self) -> u32 {
        match self {
            Delay::Now => 0,
            Delay::TwoHours => 7_200,
            Delay::OneDay => 86_400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cmd::tests::parse;

    #[test]
    fn yuan_amounts_convert_exactly() {
        assert_eq!(parse_yuan("10"), Ok(Fen::new(1_000)));
        assert_eq!(parse_yuan("10.5"), Ok(Fen::new(1_050)));
        assert_eq!(parse_yuan("10.05"), Ok(Fen::new(1_005)));
        assert_eq!(parse_yuan("0.01"), Ok(Fen::new(1)));
    }

    #[test]
    fn malformed_or_non_positive_yuan_amounts_are_rejected_naming_the_rule() {
        for bad in ["1.234", "-1", "abc", "1e3", "0", "0.00", "", "1.", ".5", "¥1"] {
            let err = parse_yuan(bad).unwrap_err();
            assert!(err.contains("at most two decimals"), "{bad:?}: {err}");
        }
        assert!(parse_yuan("92233720368547758.08").unwrap_err().contains("too large"));
    }

    #[test]
    fn a_negative_amount_reaches_the_yuan_rule_rather_than_looking_like_a_flag() {
        let err = parse(&["withdraw", "-1"]).unwrap_err().to_string();
        assert!(err.contains("at most two decimals"), "{err}");
    }
}
