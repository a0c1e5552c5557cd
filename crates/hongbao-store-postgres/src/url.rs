//! Connection URLs, for whoever manages databases on a server (the tests, the benchmark): the
//! same server with another database, and where a URL points, for messages.

use sqlx::postgres::PgConnectOptions;

/// `url` with its database replaced by `database` (the rest, query included, kept).
#[must_use]
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_at = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_at..].find('/') {
        Some(slash) => &base[..authority_at + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Where `url` points, for messages: host, port and database, never a password; `None` when
/// the URL does not parse.
#[must_use]
pub fn server_name(url: &str) -> Option<String> {
    let o = url.parse::<PgConnectOptions>().ok()?;
    Some(format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_database() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u:p@h/test?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
