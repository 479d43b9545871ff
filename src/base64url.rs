//! Unpadded base64url (RFC 4648 §5) of exactly 32 bytes: every code, opaque token and S256
//! PKCE challenge is one. The general-purpose `base64` engine spends most of its time on the
//! tail of such short inputs; a fixed-size encoder is a straight loop.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The encoded length of 32 bytes: 256 bits in 6-bit characters, rounded up.
pub(crate) const ENCODED_LEN: usize = 43;

fn char_of(sextet: u32) -> u8 {
    // The mask keeps the index below 64, so the fallback is never taken.
    ALPHABET
        .get((sextet & 0x3f) as usize)
        .copied()
        .unwrap_or(b'A')
}

/// The unpadded base64url text of 32 bytes.
pub(crate) fn encode_32(bytes: &[u8; 32]) -> [u8; ENCODED_LEN] {
    let mut out = [0u8; ENCODED_LEN];
    // Ten groups of three bytes make 40 characters; the last two bytes make three more.
    for (group, chars) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        if let ([a, b, c], [w, x, y, z]) = (group, chars) {
            let n = (u32::from(*a) << 16) | (u32::from(*b) << 8) | u32::from(*c);
            *w = char_of(n >> 18);
            *x = char_of(n >> 12);
            *y = char_of(n >> 6);
            *z = char_of(n);
        }
    }
    let [.., p, q] = *bytes;
    let n = (u32::from(p) << 16) | (u32::from(q) << 8);
    let [.., x, y, z] = &mut out;
    *x = char_of(n >> 18);
    *y = char_of(n >> 12);
    *z = char_of(n >> 6);
    out
}

#[cfg(test)]
mod tests {
    use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};

    use super::*;

    #[test]
    fn matches_the_general_purpose_engine() {
        let mut inputs = vec![[0u8; 32], [0xff; 32], [0xfb; 32], [0x3e; 32]];
        let mut ramp = [0u8; 32];
        for (i, b) in ramp.iter_mut().enumerate() {
            *b = (i * 37 + 11) as u8;
        }
        inputs.push(ramp);
        for seed in 0..200u32 {
            let mut x = [0u8; 32];
            for (i, b) in x.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(2_654_435_761).rotate_left(i as u32) >> 7) as u8;
            }
            inputs.push(x);
        }
        for input in inputs {
            let ours = encode_32(&input);
            assert_eq!(
                std::str::from_utf8(&ours).unwrap(),
                BASE64_URL_SAFE_NO_PAD.encode(input)
            );
        }
    }
}
