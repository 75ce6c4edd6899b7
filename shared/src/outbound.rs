//! Outbound HTTP, behind a trait so operations can be tested natively.

#[cfg(any(test, feature = "testing"))]
use std::sync::Mutex;

/// Sends a POST and reports the status, or why there was none.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// POSTs `body` with `headers` to `url`.
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8])
    -> Result<u16, String>;
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
    answer: Mutex<Result<u16, String>>,
}

#[cfg(any(test, feature = "testing"))]
impl Default for RecordingTransport {
    fn default() -> Self {
        RecordingTransport {
            sent: Mutex::new(Vec::new()),
            answer: Mutex::new(Ok(200)),
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
        if let Ok(mut a) = self.answer.lock() {
            *a = answer;
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl Transport for RecordingTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
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
        self.answer.lock().map_err(|e| e.to_string())?.clone()
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        (**self).post(url, headers, body).await
    }
}
