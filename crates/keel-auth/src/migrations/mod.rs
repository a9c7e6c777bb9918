//! The auth tables' migrations, written by `db makemigrations` from [`crate::models`].

pub(crate) mod m0001_initial;
