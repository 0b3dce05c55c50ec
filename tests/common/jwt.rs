//! Forging JWTs with the test secret: what an attacker who has the secret
//! (or only a token) can build.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::Value;

/// The JWT secret the token tests give the server.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// Signs `claims` with `secret` (HS256).
pub fn forge(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The claims of `token`, unverified.
pub fn claims_of(token: &str) -> Value {
    use base64_payload::decode;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&decode(payload)).unwrap()
}

/// Decodes unpadded base64url (JWT segments) without another dependency.
pub mod base64_payload {
    pub fn decode(input: &str) -> Vec<u8> {
        let value = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => (c - b'A') as u32,
                b'a'..=b'z' => (c - b'a' + 26) as u32,
                b'0'..=b'9' => (c - b'0' + 52) as u32,
                b'-' => 62,
                b'_' => 63,
                _ => panic!("not base64url"),
            }
        };
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for &c in input.as_bytes() {
            acc = (acc << 6) | value(c);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }

    pub fn encode(input: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
