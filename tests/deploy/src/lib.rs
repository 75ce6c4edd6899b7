//! Checks for the deployment files in `deploy/`; the tests are in `tests/`.
