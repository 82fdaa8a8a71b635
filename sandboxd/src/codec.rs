//! Binary frame codec for the tunnel (schema/tunnel/PROTOCOL.md §2–§3).
//!
//! One frame per WebSocket binary message. Decoding never panics and never allocates more than
//! the input; every rejection is a [`DecodeError`] carrying the code the vectors name.

use bytes::Bytes;
use serde_json::{Map, Value};

pub const HEADER_SIZE: usize = 10;
pub const MAX_PAYLOAD: usize = 65_536;
pub const FIN: u8 = 0x01;
pub const STDERR: u8 = 0x02;

pub type JsonObject = Map<String, Value>;

/// Reset and close codes (PROTOCOL.md §7).
pub mod code {
    pub const NORMAL: u16 = 0;
    pub const PROTOCOL_ERROR: u16 = 1;
    pub const FRAME_TOO_LARGE: u16 = 2;
    pub const UNKNOWN_TYPE: u16 = 3;
    pub const FLOW_CONTROL: u16 = 4;
    pub const STREAM_IN_USE: u16 = 5;
    pub const UNSUPPORTED_VERSION: u16 = 6;
    pub const AUTH_FAILED: u16 = 7;
    pub const GOING_AWAY: u16 = 8;
    pub const SESSION_ENDED: u16 = 9;
    pub const TIMEOUT: u16 = 10;
    pub const CANCEL: u16 = 100;
    pub const REFUSED: u16 = 101;
    pub const CONNECT_FAILED: u16 = 102;
    pub const UPSTREAM_ERROR: u16 = 103;
    pub const DENIED: u16 = 104;
    pub const CONNECTION_LOST: u16 = 105;
    pub const SPAWN_FAILED: u16 = 106;
    pub const INTERNAL: u16 = 107;
    /// A resource bound of the receiver was reached (streams, buffered bytes); the message names it.
    pub const LIMIT: u16 = 108;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Pty = 1,
    Exec = 2,
    Http = 3,
    Port = 4,
    Sign = 5,
}

impl Kind {
    pub fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            1 => Kind::Pty,
            2 => Kind::Exec,
            3 => Kind::Http,
            4 => Kind::Port,
            5 => Kind::Sign,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pty => "pty",
            Kind::Exec => "exec",
            Kind::Http => "http",
            Kind::Port => "port",
            Kind::Sign => "sign",
        }
    }
    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Pty, Kind::Exec, Kind::Http, Kind::Port, Kind::Sign].into_iter().find(|k| k.name() == name)
    }
    /// Streams whose process outlives a dropped connection (PROTOCOL.md §4).
    pub fn resumable(self) -> bool {
        matches!(self, Kind::Pty | Kind::Exec)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Hello(JsonObject),
    Welcome(JsonObject),
    Open { kind: Kind, meta: JsonObject },
    Data(Bytes),
    Window(u32),
    Head(JsonObject),
    Trailers(JsonObject),
    Resize { cols: u16, rows: u16 },
    Signal(u8),
    Exit { code: i32, signal: u8, timed_out: bool },
    Reset { code: u16, message: String },
    Close { code: u16, message: String },
    Ping([u8; 8]),
    Pong([u8; 8]),
}

impl Body {
    pub fn type_code(&self) -> u8 {
        match self {
            Body::Hello(_) => 0x01,
            Body::Welcome(_) => 0x02,
            Body::Open { .. } => 0x03,
            Body::Data(_) => 0x04,
            Body::Window(_) => 0x05,
            Body::Head(_) => 0x06,
            Body::Trailers(_) => 0x07,
            Body::Resize { .. } => 0x08,
            Body::Signal(_) => 0x09,
            Body::Exit { .. } => 0x0a,
            Body::Reset { .. } => 0x0b,
            Body::Close { .. } => 0x0c,
            Body::Ping(_) => 0x0d,
            Body::Pong(_) => 0x0e,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub stream: u32,
    pub flags: u8,
    pub body: Body,
}

impl Frame {
    pub fn new(stream: u32, body: Body) -> Frame {
        Frame { stream, flags: 0, body }
    }
    pub fn fin(stream: u32, body: Body) -> Frame {
        Frame { stream, flags: FIN, body }
    }
    pub fn is_fin(&self) -> bool {
        self.flags & FIN != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Truncated,
    LengthMismatch,
    FrameTooLarge,
    UnknownType,
    UnknownKind,
    BadStream,
    BadFlags,
    BadPayload,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Truncated => "TRUNCATED",
            ErrorCode::LengthMismatch => "LENGTH_MISMATCH",
            ErrorCode::FrameTooLarge => "FRAME_TOO_LARGE",
            ErrorCode::UnknownType => "UNKNOWN_TYPE",
            ErrorCode::UnknownKind => "UNKNOWN_KIND",
            ErrorCode::BadStream => "BAD_STREAM",
            ErrorCode::BadFlags => "BAD_FLAGS",
            ErrorCode::BadPayload => "BAD_PAYLOAD",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
}

impl DecodeError {
    /// The CLOSE code to send before hanging up on this error.
    pub fn close_code(&self) -> u16 {
        match self.code {
            ErrorCode::FrameTooLarge => code::FRAME_TOO_LARGE,
            ErrorCode::UnknownType => code::UNKNOWN_TYPE,
            _ => code::PROTOCOL_ERROR,
        }
    }
}

fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError { code, message: message.into() })
}

fn is_connection_type(t: u8) -> bool {
    matches!(t, 0x01 | 0x02 | 0x0c | 0x0d | 0x0e)
}

fn check_header(t: u8, stream: u32, flags: u8) -> Result<(), DecodeError> {
    if is_connection_type(t) != (stream == 0) {
        return err(ErrorCode::BadStream, format!("type {t:#04x} on stream {stream}"));
    }
    let fin_allowed = matches!(t, 0x03 | 0x04 | 0x06 | 0x07 | 0x0a);
    let allowed = if fin_allowed { FIN } else { 0 } | if t == 0x04 { STDERR } else { 0 };
    if flags & !allowed != 0 {
        return err(ErrorCode::BadFlags, format!("flags {flags:#04x} on type {t:#04x}"));
    }
    if matches!(t, 0x07 | 0x0a) && flags & FIN == 0 {
        return err(ErrorCode::BadFlags, format!("type {t:#04x} requires FIN"));
    }
    Ok(())
}

fn json_object(payload: &[u8]) -> Result<JsonObject, DecodeError> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => err(ErrorCode::BadPayload, "JSON payload is not an object"),
        Err(e) => err(ErrorCode::BadPayload, format!("payload is not UTF-8 JSON: {e}")),
    }
}

fn fixed<const N: usize>(payload: &[u8]) -> Result<[u8; N], DecodeError> {
    payload.try_into().or_else(|_| err(ErrorCode::BadPayload, format!("payload must be {N} bytes")))
}

fn coded(payload: &[u8]) -> Result<(u16, String), DecodeError> {
    let [a, b, rest @ ..] = payload else {
        return err(ErrorCode::BadPayload, "missing code");
    };
    match std::str::from_utf8(rest) {
        Ok(text) => Ok((u16::from_be_bytes([*a, *b]), text.to_owned())),
        Err(_) => err(ErrorCode::BadPayload, "message is not UTF-8"),
    }
}

/// Decode exactly one frame from one WebSocket message.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let Some((header, payload)) = bytes.split_first_chunk::<HEADER_SIZE>() else {
        return err(ErrorCode::Truncated, format!("{} header bytes", bytes.len()));
    };
    let stream = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let (t, flags) = (header[4], header[5]);
    let length = u32::from_be_bytes([header[6], header[7], header[8], header[9]]) as usize;
    if length > MAX_PAYLOAD {
        return err(ErrorCode::FrameTooLarge, format!("payload length {length}"));
    }
    if !(0x01..=0x0e).contains(&t) {
        return err(ErrorCode::UnknownType, format!("frame type {t:#04x}"));
    }
    if payload.len() < length {
        return err(ErrorCode::Truncated, format!("need {length} payload bytes"));
    }
    if payload.len() > length {
        return err(ErrorCode::LengthMismatch, "bytes after the payload");
    }
    check_header(t, stream, flags)?;
    let body = match t {
        0x01 => Body::Hello(json_object(payload)?),
        0x02 => Body::Welcome(json_object(payload)?),
        0x03 => {
            let Some((&k, meta)) = payload.split_first() else {
                return err(ErrorCode::BadPayload, "open needs a kind byte");
            };
            let Some(kind) = Kind::from_code(k) else {
                return err(ErrorCode::UnknownKind, format!("stream kind {k}"));
            };
            Body::Open { kind, meta: json_object(meta)? }
        }
        0x04 => Body::Data(Bytes::copy_from_slice(payload)),
        0x05 => match u32::from_be_bytes(fixed(payload)?) {
            0 => return err(ErrorCode::BadPayload, "window credit must be > 0"),
            credit => Body::Window(credit),
        },
        0x06 => Body::Head(json_object(payload)?),
        0x07 => Body::Trailers(json_object(payload)?),
        0x08 => {
            let [c0, c1, r0, r1] = fixed(payload)?;
            Body::Resize { cols: u16::from_be_bytes([c0, c1]), rows: u16::from_be_bytes([r0, r1]) }
        }
        0x09 => match fixed::<1>(payload)? {
            [s @ 1..=64] => Body::Signal(s),
            [s] => return err(ErrorCode::BadPayload, format!("signal {s} out of range")),
        },
        0x0a => {
            let [a, b, c, d, signal, timed_out] = fixed(payload)?;
            if timed_out > 1 {
                return err(ErrorCode::BadPayload, "timed-out byte must be 0 or 1");
            }
            Body::Exit { code: i32::from_be_bytes([a, b, c, d]), signal, timed_out: timed_out == 1 }
        }
        0x0b => {
            let (code, message) = coded(payload)?;
            Body::Reset { code, message }
        }
        0x0c => {
            let (code, message) = coded(payload)?;
            Body::Close { code, message }
        }
        0x0d => Body::Ping(fixed(payload)?),
        _ => Body::Pong(fixed(payload)?),
    };
    Ok(Frame { stream, flags, body })
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("invalid frame: {0}")]
    Invalid(#[from] DecodeError),
    #[error("payload of {0} bytes exceeds {MAX_PAYLOAD}")]
    TooLarge(usize),
}

fn json_bytes(map: &JsonObject) -> Vec<u8> {
    // Serialising a Map of Values cannot fail.
    serde_json::to_vec(map).unwrap_or_default()
}

/// Encode one frame; rejects frames the decoder would reject.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, EncodeError> {
    let t = frame.body.type_code();
    check_header(t, frame.stream, frame.flags)?;
    let payload: Vec<u8> = match &frame.body {
        Body::Hello(m) | Body::Welcome(m) | Body::Head(m) | Body::Trailers(m) => json_bytes(m),
        Body::Open { kind, meta } => {
            let mut out = vec![*kind as u8];
            out.extend(json_bytes(meta));
            out
        }
        Body::Data(b) => b.to_vec(),
        Body::Window(0) => {
            return Err(DecodeError { code: ErrorCode::BadPayload, message: "window 0".into() }.into())
        }
        Body::Window(c) => c.to_be_bytes().to_vec(),
        Body::Resize { cols, rows } => [cols.to_be_bytes(), rows.to_be_bytes()].concat(),
        Body::Signal(s) if !(1..=64).contains(s) => {
            return Err(DecodeError { code: ErrorCode::BadPayload, message: format!("signal {s}") }.into())
        }
        Body::Signal(s) => vec![*s],
        Body::Exit { code, signal, timed_out } => {
            let mut out = code.to_be_bytes().to_vec();
            out.extend([*signal, u8::from(*timed_out)]);
            out
        }
        Body::Reset { code, message } | Body::Close { code, message } => {
            let mut out = code.to_be_bytes().to_vec();
            out.extend(message.as_bytes());
            out
        }
        Body::Ping(o) | Body::Pong(o) => o.to_vec(),
    };
    if payload.len() > MAX_PAYLOAD {
        return Err(EncodeError::TooLarge(payload.len()));
    }
    let mut out = Vec::with_capacity(HEADER_SIZE + payload.len());
    out.extend(frame.stream.to_be_bytes());
    out.extend([t, frame.flags]);
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend(payload);
    Ok(out)
}
