//! `maildrift baseline accept`.
