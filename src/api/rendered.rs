//! A JSON body rendered ahead of time, documented with the schema of the
//! type it renders. For hot responses whose bulk never changes (the tool
//! list): poem-openapi's `Json<T>` would rebuild a `serde_json::Value` tree
//! and serialise it on every request.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;

/// A 200 response whose body is JSON text already rendered from a `T`.
pub struct RenderedJson<T> {
    body: String,
    schema: PhantomData<fn() -> T>,
}

impl<T> RenderedJson<T> {
    /// Wraps JSON text that the caller rendered from a `T`.
    pub fn new(body: String) -> Self {
        Self {
            body,
            schema: PhantomData,
        }
    }
}

impl<T: Type> Payload for RenderedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for RenderedJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.body)
    }
}

impl<T: Type> ApiResponse for RenderedJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
