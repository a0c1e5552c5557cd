//! The CLI's retries, against a scripted peer in front of a real server: a money-moving command
//! sends an `Idempotency-Key` of its own, sends again with the same key (signed afresh) when an
//! answer is lost, and when it gives up prints the key and the command that repeats it safely.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::{Served, client, json_of, serve, text};

/// What the peer does with the n-th connection's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    /// Reads the request and closes: the server never sees it.
    Drop,
    /// Forwards it to the server, reads the answer, and closes without passing it on: the
    /// request was carried out, and the client cannot know.
    LoseAnswer,
    /// Forwards it and passes the answer on.
    Forward,
}

/// One HTTP/1.1 message read off a stream: the head's lines and the body.
struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Message {
    fn read(stream: &mut BufReader<TcpStream>) -> Option<Message> {
        let mut head = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = Vec::new();
            if stream.read_until(b'\n', &mut line).ok()? == 0 {
                return None;
            }
            let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
            if let Some(value) = text.strip_prefix("content-length:") {
                length = value.trim().parse().ok()?;
            }
            head.extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).ok()?;
        Some(Message { head, body })
    }

    fn header(&self, name: &str) -> Option<String> {
        let head = String::from_utf8_lossy(&self.head).into_owned();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_owned())
    }
}

/// A peer on a port of its own that acts on the n-th connection as `acts[n]` says (the last
/// act for every connection after), recording each request it reads.
struct Peer {
    url: String,
    seen: Arc<Mutex<Vec<Message>>>,
    _thread: JoinHandle<()>,
}

fn peer(upstream: &str, acts: Vec<Act>) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let thread = std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let act = acts[n.min(acts.len() - 1)];
            let mut reader = BufReader::new(stream);
            let Some(request) = Message::read(&mut reader) else { continue };
            let answer = match act {
                Act::Drop => None,
                Act::LoseAnswer | Act::Forward => {
                    let mut server = BufReader::new(TcpStream::connect(&upstream).unwrap());
                    server.get_mut().write_all(&request.head).unwrap();
                    server.get_mut().write_all(&request.body).unwrap();
                    Message::read(&mut server)
                }
            };
            if let (Act::Forward, Some(answer)) = (act, answer) {
                let client = reader.get_mut();
                let _ = client.write_all(&answer.head).and_then(|()| client.write_all(&answer.body));
            }
            record.lock().unwrap().push(request);
            // The connection closes here, answered or not.
        }
    });
    Peer { url, seen, _thread: thread }
}

/// Alice with ¥10.00 and Bob, both saved; their ids.
fn alice_and_bob(served: &Served) -> (std::path::PathBuf, String, std::path::PathBuf, String) {
    let root = served.credentials.clone();
    let dir = served.data_dir.path();
    let (alice, bob) = (dir.join("alice.json"), dir.join("bob.json"));
    for (name, file) in [("alice", &alice), ("bob", &bob)] {
        assert!(client(served, &root, &["user", "create", name, "--save", file.to_str().unwrap()]).status.success());
    }
    let id = |file: &std::path::Path| {
        json_of(&client(served, file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned()
    };
    let (alice_id, bob_id) = (id(&alice), id(&bob));
    assert!(client(served, &root, &["deposit", &alice_id, "10"]).status.success());
    (alice, alice_id, bob, bob_id)
}

fn balance(served: &Served, credentials: &std::path::Path) -> i64 {
    json_of(&client(served, credentials, &["me", "--json"]))["balance"].as_i64().unwrap()
}

#[test]
fn a_transfer_whose_answer_is_lost_is_sent_again_with_the_same_key_and_moves_money_once() {
    let served = serve();
    let (alice, _, bob, bob_id) = alice_and_bob(&served);
    let upstream = crate::served_url(&served);
    let peer = peer(&upstream, vec![Act::LoseAnswer, Act::Forward]);

    let sent =
        client(&served, &alice, &["transfer", "--to", &bob_id, "--amount", "1.50", "--url", &peer.url, "--json"]);
    let receipt = json_of(&sent);
    assert!(text(&sent).contains("sending again with Idempotency-Key cli-"), "{}", text(&sent));

    let seen = peer.seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one lost answer, one retry");
    let keys: Vec<_> = seen.iter().map(|m| m.header("Idempotency-Key").expect("a key by default")).collect();
    assert_eq!(keys[0], keys[1], "the retry carries the same key");
    assert!(keys[0].starts_with("cli-"), "{}", keys[0]);
    let nonces: Vec<_> = seen.iter().map(|m| m.header("X-Hongbao-Nonce").unwrap()).collect();
    assert_ne!(nonces[0], nonces[1], "each attempt is signed afresh");
    assert_eq!(seen[0].body, seen[1].body);
    drop(seen);

    assert!(receipt["transfer_id"].as_str().is_some_and(|id| id.starts_with("trf_")), "{receipt}");
    assert_eq!(balance(&served, &bob), 150, "the money moved once, though the server got the request twice");
    assert_eq!(balance(&served, &alice), 1_000 - 150);
}

#[test]
fn giving_up_the_cli_prints_the_key_and_a_command_that_repeats_the_request_safely() {
    let served = serve();
    let (alice, _, bob, bob_id) = alice_and_bob(&served);
    let upstream = crate::served_url(&served);
    // The first request reaches the server; every answer is lost.
    let peer = peer(&upstream, vec![Act::LoseAnswer, Act::Drop]);
    let args =
        ["transfer", "--to", &bob_id, "--amount", "2", "--note", "rent for 12B", "--url", &peer.url, "--retries", "2"];
    let failed = client(&served, &alice, &args);
    let out = text(&failed);
    assert_eq!(failed.status.code(), Some(1), "{out}");
    assert_eq!(peer.seen.lock().unwrap().len(), 3, "one attempt and two retries: {out}");
    assert!(out.contains("after 3 attempt(s)") && out.contains("may or may not have been carried out"), "{out}");
    let again =
        out.lines().find_map(|l| l.trim().strip_prefix("hongbao ")).expect("the command to run again").to_owned();
    let key = peer.seen.lock().unwrap()[0].header("Idempotency-Key").unwrap();
    assert!(again.contains(&format!("--idempotency-key {key}")) && again.contains("--note 'rent for 12B'"), "{again}");

    // Run as printed, against the real server: the request the server already carried out
    // answers again, and no second ¥2.00 moves.
    // (`client` adds --credentials itself, so the printed one is left out.)
    let mut words = shell_words(&again);
    let at = words.iter().position(|w| w == "--credentials").expect("the printed command has the credentials");
    words.drain(at..at + 2);
    let real = crate::served_url(&served);
    let words: Vec<&str> = words.iter().map(|w| if *w == peer.url { real.as_str() } else { w.as_str() }).collect();
    let repeated = client(&served, &alice, &words);
    assert!(repeated.status.success() && text(&repeated).contains("sent ¥2.00"), "{}", text(&repeated));
    assert_eq!(balance(&served, &bob), 200, "carried out once");
}

#[test]
fn a_read_is_never_retried_and_a_money_command_without_a_server_gives_up_after_its_retries() {
    let served = serve();
    let (alice, _, _, bob_id) = alice_and_bob(&served);
    let upstream = crate::served_url(&served);
    let peer = peer(&upstream, vec![Act::Drop]);
    let read = client(&served, &alice, &["me", "--url", &peer.url]);
    assert_eq!(read.status.code(), Some(1));
    assert_eq!(peer.seen.lock().unwrap().len(), 1, "a read is sent once");
    let withdraw = client(&served, &alice, &["withdraw", "1", "--url", &peer.url, "--retries", "1"]);
    assert_eq!(withdraw.status.code(), Some(1));
    assert_eq!(peer.seen.lock().unwrap().len(), 3, "{}", text(&withdraw));
    assert!(text(&withdraw).contains("--idempotency-key cli-"), "{}", text(&withdraw));
    let _ = bob_id;
}

/// Splits a line as a POSIX shell would, for the quoting `hongbao` prints ('…' and '\'').
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut in_word) = (Vec::new(), String::new(), false, false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if !quoted => {
                word.extend(chars.next());
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
