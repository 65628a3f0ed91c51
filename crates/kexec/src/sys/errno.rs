//! errno values by name, so reports say "EADDRNOTAVAIL" and not "99".

use serde::{Serialize, Serializer};
use std::fmt;

/// An errno value, as the kernel returns it; named constants for the ones
/// kexec meets, and it prints and serializes by name.
///
/// ```rust
/// use kexec::Errno;
/// assert_eq!(Errno::EADDRNOTAVAIL.name(), "EADDRNOTAVAIL");
/// assert_eq!(Errno::EPERM.to_string(), "EPERM (Operation not permitted)");
/// assert_eq!(Errno(9999).name(), "errno 9999");
/// let io = std::io::Error::from_raw_os_error(Errno::ENOEXEC.0);
/// assert_eq!(Errno::from_io(&io), Errno::ENOEXEC);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`, as the C library defines it.")]
                pub const $name: Errno = Errno(libc::$name);
            )*

            /// The symbolic name, e.g. "EINVAL".
            pub fn name(self) -> String {
                match self.0 {
                    $(libc::$name => stringify!($name).to_string(),)*
                    n => format!("errno {n}"),
                }
            }
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    EINTR,
    EIO,
    ENOEXEC,
    EBADF,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ENOSYS,
    ENODATA,
    ELIBBAD,
    EOPNOTSUPP,
    EADDRNOTAVAIL,
    EBADMSG,
    EMSGSIZE,
    ENOKEY,
    EKEYREJECTED,
    ENOPKG,
    EKEYEXPIRED,
    EKEYREVOKED,
);

impl Errno {
    /// The C library's description, e.g. "Invalid argument".
    pub fn description(self) -> String {
        let text = std::io::Error::from_raw_os_error(self.0).to_string();
        // std appends " (os error N)"; the name already identifies it.
        match text.rfind(" (os error") {
            Some(cut) => text[..cut].to_string(),
            None => text,
        }
    }

    /// The errno behind an I/O error; EIO when it carries none.
    pub fn from_io(err: &std::io::Error) -> Errno {
        Errno(err.raw_os_error().unwrap_or(libc::EIO))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

impl Serialize for Errno {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions() {
        assert_eq!(Errno::EADDRNOTAVAIL.name(), "EADDRNOTAVAIL");
        assert_eq!(Errno::EINVAL.description(), "Invalid argument");
        assert_eq!(Errno(9999).name(), "errno 9999");
        assert_eq!(Errno::EPERM.to_string(), "EPERM (Operation not permitted)");
    }
}
