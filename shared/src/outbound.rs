//! Outbound HTTP, behind a trait so operations can be tested natively.

#[cfg(any(test, feature = "testing"))]
use std::collections::HashMap;
#[cfg(any(test, feature = "testing"))]
use std::sync::Mutex;

/// How long an outbound request may take, answer and body included. The
/// first attempt at a delivery is made inside the request that caused it, so
/// an endpoint that never answers would otherwise hold that request for as
/// long as the host lets a connection wait (minutes); past this, the attempt
/// fails and is retried on schedule like any other failure.
pub const OUTBOUND_TIMEOUT_SECONDS: u64 = 5;

/// The error of an attempt at `url` that got no answer in time.
pub fn no_answer(url: &str) -> String {
    format!("no answer from {url} within {OUTBOUND_TIMEOUT_SECONDS} seconds")
}

/// What a GET answered: the status and the body.
pub type Fetched = (u16, Vec<u8>);

/// What a POST answered: the status, and the `Retry-After` header if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The raw `Retry-After` value.
    pub retry_after: Option<String>,
}

impl From<u16> for Answer {
    fn from(status: u16) -> Answer {
        Answer {
            status,
            retry_after: None,
        }
    }
}

/// Sends a POST and reports the status, or why there was none; GETs a
/// document (the identity provider's key set).
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// POSTs `body` with `headers` to `url`.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Answer, String>;

    /// GETs `url` with `headers`: the status and at most `limit` bytes of
    /// body (a longer body is an error). A transport that sends no GETs
    /// says so.
    async fn get(
        &self,
        url: &str,
        headers: &[(&str, String)],
        limit: usize,
    ) -> Result<Fetched, String> {
        let _ = (headers, limit);
        Err(format!("this transport sends no GET requests ({url})"))
    }
}

#[cfg(any(test, feature = "testing"))]
/// A recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Target.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

#[cfg(any(test, feature = "testing"))]
/// A transport that records requests and answers with a set status, for tests.
#[derive(Debug)]
pub struct RecordingTransport {
    sent: Mutex<Vec<Sent>>,
    answer: Mutex<Result<Answer, String>>,
    /// Answers for POSTs to particular URLs, before `answer`.
    answers: Mutex<HashMap<String, Result<Answer, String>>>,
    fetched: Mutex<Vec<String>>,
    documents: Mutex<HashMap<String, Result<Fetched, String>>>,
}

#[cfg(any(test, feature = "testing"))]
impl Default for RecordingTransport {
    fn default() -> Self {
        RecordingTransport {
            sent: Mutex::new(Vec::new()),
            answer: Mutex::new(Ok(Answer::from(200))),
            answers: Mutex::new(HashMap::new()),
            fetched: Mutex::new(Vec::new()),
            documents: Mutex::new(HashMap::new()),
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl RecordingTransport {
    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// What the next requests get.
    pub fn answer_with(&self, answer: Result<u16, String>) {
        self.answer(answer.map(Answer::from));
    }

    /// What the next requests get, headers included.
    pub fn answer(&self, answer: Result<Answer, String>) {
        if let Ok(mut a) = self.answer.lock() {
            *a = answer;
        }
    }

    /// What the next POSTs to `url` get (`None`: what the others get).
    pub fn answer_post(&self, url: &str, answer: Option<Result<Answer, String>>) {
        if let Ok(mut answers) = self.answers.lock() {
            match answer {
                Some(a) => answers.insert(url.to_string(), a),
                None => answers.remove(url),
            };
        }
    }

    /// What the next GETs of `url` get (a URL without an answer is a 404).
    pub fn answer_get(&self, url: &str, answer: Result<Fetched, String>) {
        if let Ok(mut documents) = self.documents.lock() {
            documents.insert(url.to_string(), answer);
        }
    }

    /// Every URL fetched with GET so far, in order.
    pub fn fetched(&self) -> Vec<String> {
        self.fetched.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "testing"))]
impl Transport for RecordingTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Answer, String> {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(Sent {
                url: url.to_string(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                body: body.to_vec(),
            });
        }
        if let Some(answer) = self.answers.lock().map_err(|e| e.to_string())?.get(url) {
            return answer.clone();
        }
        self.answer.lock().map_err(|e| e.to_string())?.clone()
    }

    async fn get(
        &self,
        url: &str,
        _headers: &[(&str, String)],
        limit: usize,
    ) -> Result<Fetched, String> {
        if let Ok(mut fetched) = self.fetched.lock() {
            fetched.push(url.to_string());
        }
        let answer = self
            .documents
            .lock()
            .map_err(|e| e.to_string())?
            .get(url)
            .cloned()
            .unwrap_or(Ok((404, Vec::new())))?;
        if answer.1.len() > limit {
            return Err(format!("the answer is longer than {limit} bytes"));
        }
        Ok(answer)
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Answer, String> {
        (**self).post(url, headers, body).await
    }

    async fn get(
        &self,
        url: &str,
        headers: &[(&str, String)],
        limit: usize,
    ) -> Result<Fetched, String> {
        (**self).get(url, headers, limit).await
    }
}
