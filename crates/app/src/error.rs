use shuqiao_catalog_files::ImportError;
use shuqiao_domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not authenticated, or the token expired.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or not visible to the caller.
    #[error("{0}")]
    NotFound(String),
    /// Wrong state for this action, or a duplicate.
    #[error("{0}")]
    Conflict(String),
    /// Every problem of a request, each naming its field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Every problem of an import file, each with row and column.
    #[error("import failed")]
    Import(Vec<ImportError>),
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// A byte range beyond the end of a file of this many bytes (416).
    #[error("{0}")]
    RangeNotSatisfiable(String, u64),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    /// A dependency the request needs is not there (e.g. the provider's node is offline, or the data is not
    /// mounted).
    #[error("{0}")]
    Unavailable(String),
    /// The provider's node answered something the platform refuses to pass on.
    #[error("{0}")]
    BadGateway(String),
    /// The provider's node did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<shuqiao_store::StoreError> for AppError {
    fn from(e: shuqiao_store::StoreError) -> Self {
        match e {
            shuqiao_store::StoreError::Duplicate(m) => AppError::Conflict(format!("记录已存在 (duplicate: {m})")),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<shuqiao_search::SearchError> for AppError {
    fn from(e: shuqiao_search::SearchError) -> Self {
        AppError::Internal(anyhow::anyhow!("search index: {e}"))
    }
}
