//! The held-out report of a perception encoder: accuracy per attribute and the most frequent
//! confusions. Accuracy counts the queries where something is there or said (a "nothing"
//! read as "nothing" is not a success worth counting), except for the room and the apple
//! count, where every answer counts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::labels::{Attribute, FrameLabels};
use super::model::{PerceptionModel, input_tensor};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub truth: String,
    pub read: String,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeReport {
    pub attribute: String,
    /// Percent.
    pub accuracy: f64,
    /// The queries counted.
    pub counted: usize,
    pub confusions: Vec<Confusion>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerceptionReport {
    /// Which frames: fresh held-out scenes, or a suite split's sampled frames.
    pub source: String,
    pub frames: usize,
    pub attributes: Vec<AttributeReport>,
}

impl PerceptionReport {
    /// The lowest accuracy over the attributes (percent).
    #[must_use]
    pub fn worst(&self) -> f64 {
        self.attributes
            .iter()
            .map(|a| a.accuracy)
            .fold(f64::INFINITY, f64::min)
    }

    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(path, &json)
    }

    /// The report as a table.
    #[must_use]
    pub fn table(&self) -> String {
        let mut out = format!(
            "perception on {} frames ({}):\n{:<20} {:>9} {:>8}  most frequent confusions\n",
            self.frames, self.source, "attribute", "accuracy", "counted"
        );
        for a in &self.attributes {
            let confusions: Vec<String> = a
                .confusions
                .iter()
                .map(|c| format!("{} as {} ({})", c.truth, c.read, c.count))
                .collect();
            let _ = writeln!(
                out,
                "{:<20} {:>8.1}% {:>8}  {}",
                a.attribute,
                a.accuracy,
                a.counted,
                confusions.join(", ")
            );
        }
        out
    }
}

/// Reads every frame and scores each attribute against the labels.
///
/// # Errors
/// On a tensor error.
pub fn evaluate(
    model: &PerceptionModel,
    frames: &[(Vec<f32>, FrameLabels)],
    source: &str,
) -> candle_core::Result<PerceptionReport> {
    let mut right = vec![0usize; Attribute::ALL.len()];
    let mut counted = vec![0usize; Attribute::ALL.len()];
    let mut confusions: Vec<HashMap<(u32, u32), usize>> =
        vec![HashMap::new(); Attribute::ALL.len()];
    for chunk in frames.chunks(64) {
        let inputs: Vec<Vec<f32>> = chunk.iter().map(|(x, _)| x.clone()).collect();
        let tokens = model.forward(&input_tensor(&inputs, model.config())?)?;
        for (a, logits) in model.logits(&tokens)?.into_iter().enumerate() {
            let attribute = Attribute::ALL[a];
            let read = logits.argmax(candle_core::D::Minus1)?.to_vec2::<u32>()?;
            for ((_, labels), read) in chunk.iter().zip(read) {
                for (&truth, &got) in labels.targets[a].iter().zip(&read) {
                    if attribute.zero_is_nothing() && truth == 0 && got == 0 {
                        continue;
                    }
                    counted[a] += 1;
                    if truth == got {
                        right[a] += 1;
                    } else {
                        *confusions[a].entry((truth, got)).or_default() += 1;
                    }
                }
            }
        }
    }
    let attributes = Attribute::ALL
        .iter()
        .enumerate()
        .map(|(a, attribute)| {
            let mut top: Vec<((u32, u32), usize)> = confusions[a].drain().collect();
            top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            AttributeReport {
                attribute: attribute.name().to_owned(),
                accuracy: 100.0 * right[a] as f64 / counted[a].max(1) as f64,
                counted: counted[a],
                confusions: top
                    .into_iter()
                    .take(3)
                    .map(|((t, r), count)| Confusion {
                        truth: attribute.class_name(t),
                        read: attribute.class_name(r),
                        count,
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(PerceptionReport {
        source: source.to_owned(),
        frames: frames.len(),
        attributes,
    })
}
