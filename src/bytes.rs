//! The GPT-2 byte ↔ unicode alphabet used by byte-level BPE vocabularies in `tokenizer.json`.
//!
//! Printable bytes map to themselves; the other 68 map to U+0100.. in order. Example: b' ' → 'Ġ'.

/// Table byte → char.
pub fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0u32..256 {
        let printable = (b'!' as u32..=b'~' as u32).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).unwrap()
        } else {
            let c = char::from_u32(next).unwrap();
            next += 1;
            c
        };
    }
    table
}

/// Encode raw bytes into the GPT-2 unicode string.
pub fn bytes_to_unicode(bytes: &[u8]) -> String {
    let table = byte_to_char_table();
    bytes.iter().map(|&b| table[b as usize]).collect()
}

/// Decode a GPT-2 unicode string back to bytes; `None` if a char is outside the alphabet.
pub fn unicode_to_bytes(s: &str) -> Option<Vec<u8>> {
    let table = byte_to_char_table();
    let mut inverse = rustc_hash::FxHashMap::default();
    for (b, c) in table.iter().enumerate() {
        inverse.insert(*c, b as u8);
    }
    s.chars().map(|c| inverse.get(&c).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_is_g_dot() {
        assert_eq!(bytes_to_unicode(b" a"), "Ġa");
    }

    #[test]
    fn round_trip_all_bytes() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unicode_to_bytes(&bytes_to_unicode(&all)).unwrap(), all);
    }
}
