//! Where an [`crate::IndexCache`] keeps its files: in memory, or — for stored segments — in a
//! directory shared by every process of the server, mapped into memory (`mmap`), so that the
//! operating system keeps one copy of a segment's pages however many backends search it.
//!
//! A stored segment's files never change (segment ids are never reused), so the shared
//! directory needs no locking: a file is written once under a temporary name and renamed, and
//! whoever finds it complete maps it. What a backend computes for itself (the index's meta
//! file, delete files, the segments of pending rows) stays in its memory.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tantivy::directory::error::{DeleteError, OpenReadError, OpenWriteError};
use tantivy::directory::{FileHandle, MmapDirectory, RamDirectory, WatchCallback, WatchHandle, WritePtr};
use tantivy::Directory;

use crate::{IndexError, Result};

#[derive(Clone, Debug)]
pub struct CacheDirectory {
    ram: RamDirectory,
    shared: Option<Shared>,
}

#[derive(Clone, Debug)]
struct Shared {
    path: PathBuf,
    mmap: MmapDirectory,
    /// the files this cache reads from the shared directory
    mapped: Arc<RwLock<HashSet<PathBuf>>>,
}

impl CacheDirectory {
    pub fn in_memory() -> CacheDirectory {
        CacheDirectory { ram: RamDirectory::create(), shared: None }
    }

    pub fn shared(path: &Path) -> Result<CacheDirectory> {
        std::fs::create_dir_all(path)?;
        let mmap = MmapDirectory::open(path).map_err(|e| IndexError(format!("shared index directory {}: {e}", path.display())))?;
        Ok(CacheDirectory {
            ram: RamDirectory::create(),
            shared: Some(Shared { path: path.to_path_buf(), mmap, mapped: Arc::default() }),
        })
    }

    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Whether every file `(name, _, length)` is in the shared directory, complete.
    pub fn has_files(&self, files: &[(String, usize, usize)]) -> bool {
        let Some(s) = &self.shared else { return false };
        files.iter().all(|(name, _, len)| {
            safe_name(name) && std::fs::metadata(s.path.join(name)).is_ok_and(|m| m.is_file() && m.len() == *len as u64)
        })
    }

    /// Writes a file into the shared directory (a temporary name, then renamed).
    pub fn share(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let Some(s) = &self.shared else { return Err(IndexError("no shared directory".into())) };
        if !safe_name(name) {
            return Err(IndexError(format!("bad segment file name {name:?}")));
        }
        let tmp = s.path.join(format!("{name}.{}.tmp", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes)).and_then(|_| std::fs::rename(&tmp, s.path.join(name)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(written?)
    }

    /// Reads `name` from the shared directory from now on.
    pub fn map(&self, name: &str) {
        if let Some(s) = &self.shared {
            s.mapped.write().expect("not poisoned").insert(PathBuf::from(name));
        }
    }

    /// Stops reading `names` from the shared directory (they stay there).
    pub fn unmap(&self, names: &[String]) {
        let Some(s) = &self.shared else { return };
        let mut mapped = s.mapped.write().expect("not poisoned");
        for name in names {
            mapped.remove(Path::new(name));
        }
    }

    fn mapped(&self, path: &Path) -> Option<&MmapDirectory> {
        let s = self.shared.as_ref()?;
        s.mapped.read().expect("not poisoned").contains(path).then_some(&s.mmap)
    }
}

/// A segment file name (`<32 hex digits>.<extension>`): nothing that leaves the directory.
fn safe_name(name: &str) -> bool {
    !name.is_empty() && name.len() < 100 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') && !name.starts_with('.')
}

impl Directory for CacheDirectory {
    fn get_file_handle(&self, path: &Path) -> std::result::Result<Arc<dyn FileHandle>, OpenReadError> {
        match self.mapped(path) {
            Some(m) => m.get_file_handle(path),
            None => self.ram.get_file_handle(path),
        }
    }

    fn delete(&self, path: &Path) -> std::result::Result<(), DeleteError> {
        if let Some(s) = &self.shared {
            if s.mapped.write().expect("not poisoned").remove(path) {
                return Ok(());
            }
        }
        self.ram.delete(path)
    }

    fn exists(&self, path: &Path) -> std::result::Result<bool, OpenReadError> {
        Ok(self.mapped(path).is_some() || self.ram.exists(path)?)
    }

    fn open_write(&self, path: &Path) -> std::result::Result<WritePtr, OpenWriteError> {
        self.ram.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> std::result::Result<Vec<u8>, OpenReadError> {
        self.ram.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.ram.atomic_write(path, data)
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.ram.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_in_the_directory() {
        assert!(safe_name("0123456789abcdef0123456789abcdef.idx"));
        for bad in ["", "../x", "a/b", ".hidden", "x\0y"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
    }
}
