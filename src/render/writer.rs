//! Writers: PNG frames into the run directory's `frames/`, an MP4 through the system
//! `ffmpeg` (raw RGBA frames piped to libx264, yuv420p) or an animated GIF encoded
//! in-process. They run on their own thread behind a two-frame queue, so encoding
//! overlaps the next ticks; the overlay is drawn there too. A movie outside the run
//! directory is written under a temporary name beside its destination and renamed only
//! once the whole run has succeeded ([`PendingMovie::commit`]).

use super::overlay::{self, OverlayInfo};
use super::{MovieDest, MovieKind, RenderPlan};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use std::time::Instant;

/// One rendered frame on its way to the writers.
pub struct Frame {
    pub tick: u64,
    /// RGBA8 pixels, r in the low byte (the layout of the GPU's packed image).
    pub pixels: Vec<u32>,
    pub overlay: OverlayInfo,
    /// How many more times the movie shows this frame (a transition held on screen).
    pub hold: u32,
}

/// What the writer thread did.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    pub frames: u64,
    /// Seconds spent on the overlay and encoding (PNG, GIF or the pipe to ffmpeg).
    pub encode_s: f64,
}

/// A movie written under a temporary name, waiting for the run to succeed. Dropped
/// without [`Self::commit`], it removes the temporary file.
pub struct PendingMovie {
    temp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl PendingMovie {
    /// Move the movie to its destination; returns the destination.
    pub fn commit(mut self) -> Result<PathBuf> {
        std::fs::rename(&self.temp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.done = true;
        Ok(self.dest.clone())
    }
}

impl Drop for PendingMovie {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

enum MovieSink {
    Ffmpeg { child: Child, stdin: ChildStdin },
    Gif(Box<gif::Encoder<BufWriter<File>>>),
}

fn other(context: &Path, msg: String) -> Error {
    Error::io(context, std::io::Error::other(msg))
}

impl MovieSink {
    /// Open the movie at `path`; a GIF starts with the frames of `prior` (the movie of an
    /// interrupted run, continued by its resumption).
    fn open(
        kind: MovieKind,
        path: &Path,
        plan: &RenderPlan,
        prior: Option<&Path>,
    ) -> Result<MovieSink> {
        match kind {
            MovieKind::Mp4 => {
                let mut child = Command::new("ffmpeg")
                    .args(["-hide_banner", "-loglevel", "error", "-y"])
                    .args(["-f", "rawvideo", "-pix_fmt", "rgba"])
                    .args(["-s", &format!("{}x{}", plan.width, plan.height)])
                    .args(["-r", &plan.fps.to_string(), "-i", "pipe:0", "-an"])
                    .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "fast"])
                    .args(["-crf", "20", "-movflags", "+faststart", "-f", "mp4"])
                    .arg(path)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| other(path, format!("starting ffmpeg: {e}")))?;
                let stdin = child.stdin.take().expect("stdin is piped");
                Ok(MovieSink::Ffmpeg { child, stdin })
            }
            MovieKind::Gif => {
                let file = File::create(path).map_err(|e| Error::io(path, e))?;
                let mut enc = gif::Encoder::new(
                    BufWriter::new(file),
                    plan.width as u16,
                    plan.height as u16,
                    &[],
                )
                .map_err(|e| other(path, format!("gif: {e}")))?;
                enc.set_repeat(gif::Repeat::Infinite)
                    .map_err(|e| other(path, format!("gif: {e}")))?;
                if let Some(prior) = prior {
                    let bad = |e: gif::DecodingError| other(prior, format!("gif: {e}"));
                    let mut options = gif::DecodeOptions::new();
                    options.set_color_output(gif::ColorOutput::Indexed);
                    let file = File::open(prior).map_err(|e| Error::io(prior, e))?;
                    let mut decoder = options
                        .read_info(std::io::BufReader::new(file))
                        .map_err(bad)?;
                    while let Some(frame) = decoder.read_next_frame().map_err(bad)? {
                        enc.write_frame(frame)
                            .map_err(|e| other(path, format!("gif: {e}")))?;
                    }
                }
                Ok(MovieSink::Gif(Box::new(enc)))
            }
        }
    }

    fn write(&mut self, rgba: &mut [u8], plan: &RenderPlan, path: &Path) -> Result<()> {
        match self {
            MovieSink::Ffmpeg { stdin, .. } => stdin
                .write_all(rgba)
                .map_err(|e| other(path, format!("piping a frame to ffmpeg: {e}"))),
            MovieSink::Gif(enc) => {
                let mut frame =
                    gif::Frame::from_rgba_speed(plan.width as u16, plan.height as u16, rgba, 10);
                frame.delay = (100 / plan.fps).max(2) as u16;
                enc.write_frame(&frame)
                    .map_err(|e| other(path, format!("gif: {e}")))
            }
        }
    }

    fn finish(self, path: &Path) -> Result<()> {
        match self {
            MovieSink::Ffmpeg { child, stdin } => {
                drop(stdin);
                let out = child
                    .wait_with_output()
                    .map_err(|e| other(path, format!("waiting for ffmpeg: {e}")))?;
                if !out.status.success() {
                    return Err(other(
                        path,
                        format!(
                            "ffmpeg failed ({}): {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        ),
                    ));
                }
                Ok(())
            }
            MovieSink::Gif(enc) => {
                let mut file = enc
                    .into_inner()
                    .map_err(|e| other(path, format!("gif: {e}")))?;
                file.flush().map_err(|e| Error::io(path, e))
            }
        }
    }
}

/// Make `second` the MP4 of `first` followed by `second` (ffmpeg's concat demuxer, the
/// streams copied).
fn join_mp4(first: &Path, second: &Path) -> Result<()> {
    let joined = second.with_extension("joined");
    let list = second.with_extension("list");
    let quote = |p: &Path| -> Result<String> {
        let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
        Ok(format!(
            "file '{}'\n",
            abs.display().to_string().replace('\'', "'\\''")
        ))
    };
    std::fs::write(&list, quote(first)? + &quote(second)?).map_err(|e| Error::io(&list, e))?;
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-c", "copy", "-movflags", "+faststart", "-f", "mp4"])
        .arg(&joined)
        .output();
    let _ = std::fs::remove_file(&list);
    let out = out.map_err(|e| other(second, format!("starting ffmpeg to join the movie: {e}")))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&joined);
        return Err(other(
            second,
            format!(
                "ffmpeg could not join the movie to the interrupted run's ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    std::fs::rename(&joined, second).map_err(|e| Error::io(second, e))
}

/// Write one frame as an RGB PNG.
pub fn write_png(path: &Path, rgba: &[u8], width: u32, height: u32) -> Result<()> {
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc
        .write_header()
        .map_err(|e| other(path, format!("png: {e}")))?;
    writer
        .write_image_data(&rgb)
        .map_err(|e| other(path, format!("png: {e}")))?;
    writer
        .finish()
        .map_err(|e| other(path, format!("png: {e}")))
}

/// The frame's bytes with the overlay drawn on.
pub fn compose(frame: &Frame, width: u32, height: u32) -> Vec<u8> {
    let mut rgba: Vec<u8> = bytemuck::cast_slice(&frame.pixels).to_vec();
    overlay::draw(&mut rgba, width, height, &frame.overlay);
    rgba
}

/// The writer thread and its queue.
pub struct FrameWriter {
    tx: Option<SyncSender<Frame>>,
    thread: Option<JoinHandle<Result<WriterStats>>>,
    movie: Option<PendingMovie>,
}

impl FrameWriter {
    /// Open the outputs of `plan` (starting ffmpeg for an MP4) and the writer thread.
    /// `run_dir` is the run directory. With `continues`, the movie already at its
    /// destination (an interrupted run's) is continued: the new frames follow its own.
    pub fn start(plan: &RenderPlan, run_dir: &Path, continues: bool) -> Result<FrameWriter> {
        let frames_dir = if plan.frames {
            let d = run_dir.join("frames");
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            Some(d)
        } else {
            None
        };
        let mut pending = None;
        let mut mp4_prior = None;
        let movie = match &plan.movie {
            None => None,
            Some(m) => {
                // Written under a temporary name beside its destination (in the run
                // directory or the user's folder), renamed once the run has succeeded.
                let dest = match &m.dest {
                    MovieDest::RunDir(name) => run_dir.join(name),
                    MovieDest::Path(dest) => dest.clone(),
                };
                let name = dest
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "movie".into());
                let path = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
                let prior = (continues && dest.is_file()).then(|| dest.clone());
                let sink = MovieSink::open(m.kind, &path, plan, prior.as_deref())?;
                // An MP4 is continued by joining the two at the end (same codec and
                // size, so the streams are copied, not encoded again).
                if m.kind == MovieKind::Mp4 {
                    mp4_prior = prior;
                }
                pending = Some(PendingMovie {
                    temp: path.clone(),
                    dest,
                    done: false,
                });
                Some((sink, path))
            }
        };
        let (tx, rx) = sync_channel::<Frame>(2);
        let plan = plan.clone();
        let thread = std::thread::Builder::new()
            .name("frame writer".into())
            .spawn(move || -> Result<WriterStats> {
                let mut stats = WriterStats::default();
                let mut movie = movie;
                for frame in rx {
                    let start = Instant::now();
                    let mut rgba = compose(&frame, plan.width, plan.height);
                    if let Some(dir) = &frames_dir {
                        write_png(
                            &dir.join(format!("frame-{:06}.png", frame.tick)),
                            &rgba,
                            plan.width,
                            plan.height,
                        )?;
                    }
                    if let Some((sink, path)) = movie.as_mut() {
                        for _ in 0..=frame.hold {
                            sink.write(&mut rgba, &plan, path)?;
                        }
                    }
                    stats.frames += 1;
                    stats.encode_s += start.elapsed().as_secs_f64();
                }
                if let Some((sink, path)) = movie {
                    let start = Instant::now();
                    sink.finish(&path)?;
                    if let Some(prior) = &mp4_prior {
                        join_mp4(prior, &path)?;
                    }
                    stats.encode_s += start.elapsed().as_secs_f64();
                }
                Ok(stats)
            })
            .map_err(|e| other(run_dir, format!("starting the frame writer: {e}")))?;
        Ok(FrameWriter {
            tx: Some(tx),
            thread: Some(thread),
            movie: pending,
        })
    }

    /// Queue a frame; waits while two frames are already queued. A writer that has
    /// failed reports its error here.
    pub fn send(&mut self, frame: Frame) -> Result<()> {
        let tx = self.tx.as_ref().expect("send before finish");
        if tx.send(frame).is_err() {
            // The thread only hangs up on an error: report it.
            self.tx = None;
            return match self.thread.take().map(JoinHandle::join) {
                Some(Ok(Err(e))) => Err(e),
                _ => Err(Error::Io {
                    context: "frame writer".into(),
                    source: std::io::Error::other("the writer thread stopped"),
                }),
            };
        }
        Ok(())
    }

    /// Wait for every frame to be written and the movie to be closed; returns the
    /// stats and the movie that still has to be moved into place, if any.
    pub fn finish(mut self) -> Result<(WriterStats, Option<PendingMovie>)> {
        self.tx = None;
        let stats = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r?,
            _ => {
                return Err(Error::Io {
                    context: "frame writer".into(),
                    source: std::io::Error::other("the writer thread panicked"),
                })
            }
        };
        Ok((stats, self.movie.take()))
    }
}

impl Drop for FrameWriter {
    /// A run that failed still closes ffmpeg (so no process is left behind); the
    /// pending movie then removes its temporary file.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
