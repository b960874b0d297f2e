//! Deleting doomed uploads from the bucket (`crate::files::log`: a deleted or trimmed message's
//! files, those an edit removed, those never used within an hour). The room dooms them in the turn of
//! the change, so the record commits with it; this task then deletes their objects (the file and its
//! thumbnail) and forgets them only once the bucket has answered. A failure is tried again by the
//! object's alarm, and an object that is evicted meanwhile finds them doomed on its next wake: nothing
//! a message shows is deleted, nothing is left in the bucket that no record points to.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};

use super::bucket::{self, Bucket};
use super::now_ms;
use super::store::Store;
use crate::files::{self, FileId};
use crate::validate::RoomName;

/// Doomed uploads deleted per round (each is two keys; R2 deletes up to 1000 keys per call).
const BATCH: usize = 100;
/// After a failed round, the alarm tries again this much later (ms).
const RETRY_MS: u64 = 60_000;

/// The deletion's state in the room's object.
#[derive(Debug, Default)]
pub struct Doomed {
    /// Uploads were doomed since the last round began.
    wanted: bool,
    running: bool,
    /// After a failure: when the alarm tries again.
    retry_at: Option<u64>,
}

impl Doomed {
    /// Uploads were doomed: a task should run.
    pub fn want(&mut self) {
        self.wanted = true;
    }

    /// When the deletion wants the object's alarm, if at all.
    pub fn due_at(&self) -> Option<u64> {
        self.retry_at
    }

    /// The alarm fired: a retry that is due runs.
    pub fn alarm(&mut self, now: u64) {
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            self.wanted = true;
        }
    }
}

/// What the deletion needs of the object that owns it.
pub trait Bin {
    /// The deletion's state, the store that records the uploads, the bucket, and the room's name.
    fn bin(&mut self) -> (&mut Doomed, &Store, Option<&Bucket>, &str);
    fn schedule_alarm(&mut self);
}

/// Starts a deletion task if uploads were doomed and none runs.
pub fn start<B: Bin + 'static>(shared: &Rc<RefCell<B>>) {
    {
        let inner = &mut *shared.borrow_mut();
        let (doomed, ..) = inner.bin();
        if !doomed.wanted || doomed.running {
            return;
        }
        doomed.wanted = false;
        doomed.running = true;
    }
    let shared = Rc::clone(shared);
    wasm_bindgen_futures::spawn_local(async move { run(&shared).await });
}

/// Rounds of [`BATCH`] until none is doomed, or a round fails.
async fn run<B: Bin>(shared: &RefCell<B>) {
    loop {
        let round = {
            let inner = &mut *shared.borrow_mut();
            let (_, store, bucket, room) = inner.bin();
            let found = match (store.doomed_files(BATCH), bucket, RoomName::parse(room)) {
                (Ok(ids), Some(bucket), Ok(room)) if !ids.is_empty() => {
                    let keys: Vec<String> = ids
                        .iter()
                        .filter_map(|id| FileId::parse(id).ok())
                        .flat_map(|id| {
                            [files::object_key(&room, &id), files::thumb_key(&room, &id)]
                        })
                        .collect();
                    let bucket: Bucket = AsRef::<JsValue>::as_ref(bucket).clone().unchecked_into();
                    Some((ids, keys, bucket))
                }
                (Err(e), ..) => {
                    worker::console_error!("doomed uploads unreadable: {e}");
                    None
                }
                _ => None,
            };
            found
        };
        let Some((ids, keys, bucket)) = round else {
            break;
        };
        let deleted = bucket::delete(&bucket, &keys).await;
        let inner = &mut *shared.borrow_mut();
        let (doomed, store, ..) = inner.bin();
        let forgotten = deleted.and_then(|()| store.forget_files(&ids));
        if let Err(e) = forgotten {
            worker::console_error!("deleting doomed uploads failed, trying again later: {e}");
            doomed.retry_at = Some(now_ms() + RETRY_MS);
            doomed.running = false;
            inner.schedule_alarm();
            return;
        }
    }
    // Every round asked the store afresh, so what was doomed meanwhile is gone too.
    let inner = &mut *shared.borrow_mut();
    let (doomed, ..) = inner.bin();
    doomed.running = false;
    doomed.wanted = false;
}
