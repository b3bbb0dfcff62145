//! A Server-Sent Events parser (the WHATWG `text/event-stream` rules) for MCP's Streamable HTTP
//! responses and GET stream. Pure: the bridge in the binary feeds it the bytes of each socket read.
//!
//! It is fed whatever each socket read returned, so a line or an event may be split anywhere,
//! including between the `\r` and `\n` of a CRLF. Every complete event is handed out as soon as its
//! blank line arrives (the proxy must stream, not buffer to the end). Memory is bounded: an event
//! whose data grows past `max_event` bytes is an error, not an allocation. An event cut off by the
//! end of the stream is discarded, as the standard says.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; empty means the default type, `message`.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event ID in effect when this event was dispatched (for `Last-Event-ID`).
    pub id: Option<String>,
}

impl Event {
    /// Whether this event carries a message (`message` or no type).
    pub fn is_message(&self) -> bool {
        self.event.is_empty() || self.event == "message"
    }
}

/// The event or line that broke the memory bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event from the server is larger than {0} bytes")]
pub struct TooLarge(pub usize);

#[derive(Debug)]
pub struct Parser {
    max_event: usize,
    /// The current, incomplete line.
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` at the start of the next one belongs to it.
    after_cr: bool,
    /// Nothing has been read yet (a leading BOM is skipped).
    at_start: bool,
    data: Vec<u8>,
    has_data: bool,
    event: String,
    last_id: Option<String>,
    retry: Option<u64>,
}

impl Parser {
    pub fn new(max_event: usize) -> Parser {
        Parser {
            max_event,
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            data: Vec::new(),
            has_data: false,
            event: String::new(),
            last_id: None,
            retry: None,
        }
    }

    /// A parser that resumes after `last_id` (a reconnected stream keeps the ID until told otherwise).
    pub fn resuming(max_event: usize, last_id: Option<String>) -> Parser {
        let mut p = Parser::new(max_event);
        p.last_id = last_id;
        p
    }

    /// The last event ID seen (the value for `Last-Event-ID` on reconnection).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection time the server asked for with `retry:`, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry
    }

    /// Feeds the next bytes of the stream; calls `emit` for every event they complete.
    pub fn feed(&mut self, mut chunk: &[u8], mut emit: impl FnMut(Event)) -> Result<(), TooLarge> {
        if self.at_start && !chunk.is_empty() {
            // A BOM may itself be split; only a complete one at the very start is skipped.
            if let Some(rest) = chunk.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
                chunk = rest;
            }
            self.at_start = false;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n".as_slice()) {
                chunk = rest;
            }
        }
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push_line_part(&chunk[..pos])?;
            let ended_with_cr = chunk[pos] == b'\r';
            chunk = &chunk[pos + 1..];
            if ended_with_cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, &mut emit);
            self.line = line;
            self.line.clear();
        }
        self.push_line_part(chunk)
    }

    fn push_line_part(&mut self, part: &[u8]) -> Result<(), TooLarge> {
        if self.line.len() + part.len() + self.data.len() > self.max_event {
            return Err(TooLarge(self.max_event));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], emit: &mut impl FnMut(Event)) {
        if line.is_empty() {
            self.dispatch(emit);
            return;
        }
        if line[0] == b':' {
            return; // a comment (keep-alive)
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ".as_slice()).unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("").parse::<u64>() {
                    self.retry = Some(ms);
                }
            }
            _ => {} // unknown fields are ignored
        }
    }

    fn dispatch(&mut self, emit: &mut impl FnMut(Event)) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the last data line's '\n'
        emit(Event {
            event,
            data: match String::from_utf8(data) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            },
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> (Vec<Event>, Parser) {
        let mut p = Parser::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| out.push(e)).unwrap();
        }
        (out, p)
    }

    fn ev(event: &str, data: &str, id: Option<&str>) -> Event {
        Event {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn one_event_per_blank_line() {
        let (evs, _) = parse_chunks(&[b"event: message\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\n"]);
        assert_eq!(
            evs,
            vec![ev("message", "{\"a\":1}", None), ev("", "{\"b\":2}", None)]
        );
        assert!(evs.iter().all(Event::is_message));
    }

    #[test]
    fn split_across_reads_at_every_byte() {
        let stream: &[u8] =
            b"id: 7\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\"}\r\n\r\n: ping\r\n\r\ndata: x\r\rdata: y\n\n";
        let (whole, _) = parse_chunks(&[stream]);
        assert_eq!(
            whole,
            vec![
                ev("message", "{\"jsonrpc\":\"2.0\"}", Some("7")),
                ev("", "x", Some("7")),
                ev("", "y", Some("7"))
            ]
        );
        for cut in 0..=stream.len() {
            let (parts, _) = parse_chunks(&[&stream[..cut], &stream[cut..]]);
            assert_eq!(parts, whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes).0, whole);
    }

    #[test]
    fn multi_line_data_joined_with_newline() {
        let (evs, _) = parse_chunks(&[b"data: {\"a\":\ndata:1}\ndata\n\n"]);
        assert_eq!(evs, vec![ev("", "{\"a\":\n1}\n", None)]);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let (evs, _) = parse_chunks(&[b": keep-alive\n\nfoo: bar\n:x\ndata: 1\n\n"]);
        assert_eq!(evs, vec![ev("", "1", None)]);
    }

    #[test]
    fn id_and_retry_are_remembered() {
        let (evs, p) =
            parse_chunks(&[b"retry: 250\nid: abc\n\nretry: x1\ndata: 1\n\nid\ndata: 2\n\n"]);
        // An event without data dispatches nothing but still sets the ID.
        assert_eq!(evs, vec![ev("", "1", Some("abc")), ev("", "2", Some(""))]);
        assert_eq!(p.retry_ms(), Some(250), "a non-numeric retry is ignored");
        assert_eq!(p.last_id(), Some(""));
        let (_, p) = parse_chunks(&[b"id: a\0b\n\n"]);
        assert_eq!(p.last_id(), None, "an id with NUL is ignored");
    }

    #[test]
    fn no_space_after_colon_and_only_one_space_stripped() {
        let (evs, _) = parse_chunks(&[b"data:x\n\ndata:  y\n\n"]);
        assert_eq!(evs, vec![ev("", "x", None), ev("", " y", None)]);
    }

    #[test]
    fn event_type_resets_after_dispatch_and_bom_is_skipped() {
        let (evs, _) = parse_chunks(&[b"\xEF\xBB\xBFevent: other\ndata: 1\n\ndata: 2\n\n"]);
        assert_eq!(evs, vec![ev("other", "1", None), ev("", "2", None)]);
        assert!(!evs[0].is_message());
    }

    #[test]
    fn an_event_cut_off_at_the_end_is_not_dispatched() {
        let (evs, _) = parse_chunks(&[b"data: 1\n\ndata: 2\n"]);
        assert_eq!(evs, vec![ev("", "1", None)]);
    }

    #[test]
    fn memory_is_bounded() {
        let mut p = Parser::new(16);
        let mut n = 0;
        assert!(p.feed(b"data: 0123456789\n", |_| n += 1).is_ok());
        assert_eq!(p.feed(b"data: 0123456789\n", |_| n += 1), Err(TooLarge(16)));
        let mut p = Parser::new(16);
        assert!(p.feed(&[b'a'; 17], |_| n += 1).is_err(), "one long line");
        assert_eq!(n, 0);
    }

    #[test]
    fn resuming_keeps_the_last_id() {
        let mut p = Parser::resuming(64, Some("5".into()));
        let mut out = Vec::new();
        p.feed(b"data: x\n\n", |e| out.push(e)).unwrap();
        assert_eq!(out, vec![ev("", "x", Some("5"))]);
    }
}
