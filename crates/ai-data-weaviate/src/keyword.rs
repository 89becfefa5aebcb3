//! Keyword (`bm25`) and hybrid (`hybrid`) `Get` queries over GraphQL.
//!
//! Both search the collection's `_search` property (see
//! [`crate::schema::SEARCH_PROP`]). A hybrid query sends the vector, `alpha`
//! and `fusionType` (`rankedFusion` or `relativeScoreFusion`, Weaviate's
//! implementation of [`ai_data_vector::fusion`]); the server ranks each arm
//! to the query's `limit` and returns `_additional { score }` (as a string,
//! as Weaviate's GraphQL types it). From 1.23 the store sends the same
//! search over gRPC ([`crate::grpc::KeywordParts`]).

use std::fmt::Write as _;

use ai_data_vector::{Error, Fusion, Result};

use crate::filter::Where;
use crate::graphql::{check_name, write_string, write_where};

/// The hybrid half of a [`KeywordGet`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HybridArgs<'a> {
    /// The query vector.
    pub vector: &'a [f32],
    /// The vector arm's weight.
    pub alpha: f32,
    /// `rankedFusion` (only `k = 60`) or `relativeScoreFusion`.
    pub fusion: Fusion,
}

impl HybridArgs<'_> {
    /// The fusion's name in GraphQL; Weaviate's `rankedFusion` has `k = 60`
    /// only.
    pub fn graphql_fusion(&self) -> Result<&'static str> {
        match self.fusion {
            Fusion::Ranked { k } if k == Fusion::DEFAULT_RANK_CONSTANT => Ok("rankedFusion"),
            Fusion::Ranked { k } => Err(Error::unsupported(format!(
                "Weaviate's rankedFusion has k = 60, not {k}"
            ))),
            Fusion::RelativeScore => Ok("relativeScoreFusion"),
        }
    }

    /// The fusion as gRPC's `FusionType` (same rule as [`Self::graphql_fusion`]).
    #[cfg(feature = "grpc")]
    pub fn grpc_fusion(&self) -> Result<crate::proto::FusionType> {
        use crate::proto::FusionType;
        Ok(match self.graphql_fusion()? {
            "rankedFusion" => FusionType::Ranked,
            _ => FusionType::RelativeScore,
        })
    }
}

/// A `Get` with `bm25` (no `hybrid`) or `hybrid`.
///
/// ```
/// use ai_data_weaviate::keyword::{HybridArgs, KeywordGet};
/// use ai_data_vector::Fusion;
///
/// let bm25 = KeywordGet { class: "Docs", limit: 5, text: "rust \"db\"", property: "_search",
///     hybrid: None, filter: None, properties: &["_payload"], vector: false };
/// assert_eq!(
///     bm25.to_query()?,
///     r#"{ Get { Docs(limit: 5, bm25: {query: "rust \"db\"", properties: ["_search"]}) { _payload _additional { id score } } } }"#
/// );
/// let hybrid = KeywordGet { hybrid: Some(HybridArgs { vector: &[0.5, 1.0], alpha: 0.25, fusion: Fusion::RelativeScore }), ..bm25 };
/// assert!(hybrid.to_query()?.contains(r#"hybrid: {query: "rust \"db\"", alpha: 0.25, vector: [0.5,1.0], properties: ["_search"], fusionType: relativeScoreFusion}"#));
/// # Ok::<(), ai_data_vector::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeywordGet<'a> {
    /// The class.
    pub class: &'a str,
    /// `limit` (each arm is ranked to it).
    pub limit: usize,
    /// The query text.
    pub text: &'a str,
    /// The searched property.
    pub property: &'a str,
    /// `hybrid` arguments; `None`: `bm25`.
    pub hybrid: Option<HybridArgs<'a>>,
    /// `where`, applied to both arms.
    pub filter: Option<&'a Where>,
    /// Properties to return.
    pub properties: &'a [&'a str],
    /// Return `_additional { vector }`.
    pub vector: bool,
}

impl KeywordGet<'_> {
    /// The query text.
    pub fn to_query(&self) -> Result<String> {
        let mut q = String::with_capacity(256);
        q.push_str("{ Get { ");
        q.push_str(check_name(self.class)?);
        let _ = write!(q, "(limit: {}, ", self.limit);
        let property = check_name(self.property)?;
        match &self.hybrid {
            None => {
                q.push_str("bm25: {query: ");
                write_string(&mut q, self.text);
                let _ = write!(q, ", properties: [\"{property}\"]}}");
            }
            Some(h) => {
                if h.vector.iter().any(|x| !x.is_finite()) || !h.alpha.is_finite() {
                    return Err(Error::invalid_input(
                        "hybrid query vector or alpha is not finite",
                    ));
                }
                let fusion = h.graphql_fusion()?;
                q.push_str("hybrid: {query: ");
                write_string(&mut q, self.text);
                let _ = write!(q, ", alpha: {}, vector: ", h.alpha);
                q.push_str(&ai_data_vector::wire::encode_json(h.vector));
                let _ = write!(q, ", properties: [\"{property}\"], fusionType: {fusion}}}");
            }
        }
        if let Some(filter) = self.filter {
            q.push_str(", where: ");
            write_where(&mut q, filter)?;
        }
        q.push_str(") {");
        for property in self.properties {
            q.push(' ');
            q.push_str(check_name(property)?);
        }
        q.push_str(" _additional { id score");
        if self.vector {
            q.push_str(" vector");
        }
        q.push_str(" } } } }");
        Ok(q)
    }
}
