//! Vector encodings for the wire, shared by the backends:
//!
//! - **little-endian `f32` bytes**: Weaviate gRPC's `vector_bytes`, 4 bytes a
//!   component;
//! - **JSON text**: `[0.1,0.25,-3]`, the shortest text that reads back to the
//!   same `f32`s; also pgvector's text format and Weaviate REST/GraphQL's.
//!
//! ```
//! use ai_data_vector::wire;
//!
//! let v = vec![0.1_f32, -2.5, 3.0];
//! let bytes = wire::encode_f32_le(&v);
//! assert_eq!(bytes.len(), 12);
//! assert_eq!(wire::decode_f32_le(&bytes)?, v);
//! let text = wire::encode_json(&v);
//! assert_eq!(text, "[0.1,-2.5,3.0]");
//! assert_eq!(wire::decode_json(&text)?, v);
//! # Ok::<(), ai_data_vector::Error>(())
//! ```

use crate::{Error, Result};

/// Append `vector` as little-endian `f32` bytes to `out`.
pub fn encode_f32_le_into(vector: &[f32], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + vector.len() * 4, 0);
    // Fixed-size chunks: the compiler turns this into a plain copy on
    // little-endian targets.
    for (dst, x) in out[start..].chunks_exact_mut(4).zip(vector) {
        dst.copy_from_slice(&x.to_le_bytes());
    }
}

/// `vector` as little-endian `f32` bytes.
pub fn encode_f32_le(vector: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vector.len() * 4);
    encode_f32_le_into(vector, &mut out);
    out
}

/// Little-endian `f32` bytes back to a vector; a length that is not a
/// multiple of 4 is `InvalidInput`.
pub fn decode_f32_le(bytes: &[u8]) -> Result<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(Error::invalid_input(format!(
            "vector bytes have length {}, not a multiple of 4",
            bytes.len()
        )));
    }
    let mut vector = vec![0.0_f32; bytes.len() / 4];
    for (x, b) in vector.iter_mut().zip(bytes.chunks_exact(4)) {
        *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(vector)
}

/// Append `vector` as JSON array text (UTF-8) to `out`: the shortest
/// decimal form of each component that reads back to the same `f32`
/// (`0.1`, `3.0`, `1e-7`). Non-finite components (which validation rejects
/// before any write) become `null`, as JSON has no NaN.
pub fn encode_json_into(vector: &[f32], out: &mut Vec<u8>) {
    out.reserve(vector.len() * 12 + 2);
    // Serializing floats into a Vec cannot fail.
    let _ = serde_json::to_writer(out, vector);
}

/// `vector` as JSON array text.
pub fn encode_json(vector: &[f32]) -> String {
    serde_json::to_string(vector).unwrap_or_default()
}

/// JSON array text back to a vector; anything but an array of numbers in
/// `f32` range is `InvalidInput`.
pub fn decode_json(text: &str) -> Result<Vec<f32>> {
    let vector: Vec<f32> = serde_json::from_str(text).map_err(|e| {
        Error::invalid_input(format!("vector text is not a JSON array of numbers: {e}"))
            .with_source(e)
    })?;
    match vector.iter().position(|x| !x.is_finite()) {
        None => Ok(vector),
        Some(i) => Err(Error::invalid_input(format!(
            "vector component {i} is outside the f32 range"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn round_trips_exact_bits() {
        let v: Vec<f32> = (0..1536)
            .map(|i| ((i as f32) * 0.618_034).sin() / (1.0 + i as f32))
            .chain([f32::MIN_POSITIVE, f32::MAX, -0.0, 1e-38, 16_777_217.0])
            .collect();
        let back = decode_f32_le(&encode_f32_le(&v)).unwrap_or_default();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        let back = decode_json(&encode_json(&v)).unwrap_or_default();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn byte_layout_is_little_endian() {
        assert_eq!(encode_f32_le(&[1.0]), vec![0x00, 0x00, 0x80, 0x3f]);
        let mut out = vec![9];
        encode_f32_le_into(&[-2.0], &mut out);
        assert_eq!(out, vec![9, 0x00, 0x00, 0x00, 0xc0]);
    }

    #[test]
    fn bad_input_is_invalid_input() {
        let kind = |r: Result<Vec<f32>>| r.err().map(|e| e.kind());
        assert_eq!(
            kind(decode_f32_le(&[0, 0, 0])),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(
            kind(decode_json("[1, \"a\"]")),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(kind(decode_json("{}")), Some(ErrorKind::InvalidInput));
        assert_eq!(kind(decode_json("[1e39]")), Some(ErrorKind::InvalidInput));
        assert_eq!(decode_json("[]").ok(), Some(vec![]));
        assert_eq!(encode_json(&[f32::NAN, 1.5]), "[null,1.5]");
        assert_eq!(encode_json(&[]), "[]");
    }
}
