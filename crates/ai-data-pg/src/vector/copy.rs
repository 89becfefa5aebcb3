//! `COPY ... FROM STDIN (FORMAT BINARY)` rows for a collection table
//! (`id uuid, embedding vector, payload jsonb, payload_text text`).
//!
//! The payload is serialised once and sent twice: as `jsonb` (a version
//! byte, then the text) and as `text` (the bytes), the exact text that
//! `get` and `search` return.
//!
//! The format is PostgreSQL's binary COPY: a signature and two zero words,
//! then per row a field count and length-prefixed fields in each type's
//! binary ("recv") form, and a -1 trailer. Vectors are pgvector's form:
//! `int16 dim, int16 0, dim x float4` (`halfvec`: `dim x float2`, IEEE
//! half bits), all big-endian.

use ai_data_vector::{Error, Precision, Record, Result};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The whole COPY payload for `records`.
pub(crate) fn encode(records: &[&Record], precision: Precision) -> Result<Vec<u8>> {
    let width: i32 = match precision {
        Precision::F32 => 4,
        Precision::F16 => 2,
    };
    let per_row = records
        .first()
        .map_or(0, |r| 2 + 4 + 16 + 4 + 4 + 4 * r.vector.len() + 4 + 4 + 128);
    let mut out = Vec::with_capacity(SIGNATURE.len() + 8 + per_row * records.len() + 2);
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0_i32.to_be_bytes()); // flags
    out.extend_from_slice(&0_i32.to_be_bytes()); // header extension length
    for record in records {
        out.extend_from_slice(&4_i16.to_be_bytes());
        // uuid
        out.extend_from_slice(&16_i32.to_be_bytes());
        out.extend_from_slice(record.id.as_uuid().as_bytes());
        // vector
        let dim = i16::try_from(record.vector.len()).map_err(|_| {
            Error::invalid_input("vector too long for pgvector (more than 32767 components)")
        })?;
        out.extend_from_slice(&(4 + width * i32::from(dim)).to_be_bytes());
        out.extend_from_slice(&dim.to_be_bytes());
        out.extend_from_slice(&0_i16.to_be_bytes());
        match precision {
            Precision::F32 => {
                for x in &record.vector {
                    out.extend_from_slice(&x.to_be_bytes());
                }
            }
            Precision::F16 => {
                for x in &record.vector {
                    out.extend_from_slice(&half::f16::from_f32(*x).to_bits().to_be_bytes());
                }
            }
        }
        // jsonb: a version byte, then the JSON text
        let json = serde_json::to_vec(&record.payload)
            .map_err(|e| Error::invalid_input(format!("payload is not serialisable: {e}")))?;
        let len = i32::try_from(json.len() + 1)
            .map_err(|_| Error::invalid_input("payload larger than 2 GiB"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.push(1);
        out.extend_from_slice(&json);
        // text: the same bytes
        out.extend_from_slice(&(len - 1).to_be_bytes());
        out.extend_from_slice(&json);
    }
    out.extend_from_slice(&(-1_i16).to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_vector::RecordId;

    #[test]
    fn layout_of_one_row() {
        let payload = serde_json::json!({"a": 1})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let record = Record::new(RecordId::from_key("x"), vec![1.0, -2.0], payload);
        let bytes = encode(&[&record], Precision::F32).expect("encodes");
        assert_eq!(&bytes[..11], SIGNATURE);
        let row = &bytes[19..];
        assert_eq!(&row[..2], &4_i16.to_be_bytes());
        assert_eq!(&row[2..6], &16_i32.to_be_bytes());
        assert_eq!(&row[6..22], record.id.as_uuid().as_bytes());
        assert_eq!(&row[22..26], &12_i32.to_be_bytes());
        assert_eq!(&row[26..28], &2_i16.to_be_bytes());
        assert_eq!(&row[30..34], &1.0_f32.to_be_bytes());
        assert_eq!(&row[34..38], &(-2.0_f32).to_be_bytes());
        assert_eq!(&row[38..42], &8_i32.to_be_bytes());
        assert_eq!(row[42], 1);
        assert_eq!(&row[43..50], b"{\"a\":1}");
        assert_eq!(&row[50..54], &7_i32.to_be_bytes());
        assert_eq!(&row[54..61], b"{\"a\":1}");
        assert_eq!(&row[61..], &(-1_i16).to_be_bytes());

        let half = encode(&[&record], Precision::F16).expect("encodes");
        let row = &half[19..];
        assert_eq!(&row[22..26], &8_i32.to_be_bytes());
        assert_eq!(&row[30..32], &0x3c00_u16.to_be_bytes()); // 1.0
        assert_eq!(&row[32..34], &0xc000_u16.to_be_bytes()); // -2.0
    }
}
