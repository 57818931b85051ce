//! A ledger as an Excel workbook: one sheet written in rust_xlsxwriter's constant-memory mode
//! (each finished row goes to a temporary file), fed chunk by chunk from the store's cursor.

use super::catalog::FieldType;
use super::{RawRow, Renderer};
use rust_xlsxwriter::{Workbook, XlsxError};

/// The most data rows a worksheet holds (Excel's limit, less the header).
pub const MAX_ROWS: usize = 1_048_575;

#[derive(Debug, thiserror::Error)]
pub enum XlsxExportError {
    #[error("more than {MAX_ROWS} rows")]
    TooManyRows,
    #[error("writing the workbook failed: {0}")]
    Write(#[from] XlsxError),
}

/// Writes the header and every chunk received from `rx` (until it closes), and returns the
/// workbook's bytes. Runs on a blocking thread.
pub fn write(
    renderer: &Renderer,
    mut rx: tokio::sync::mpsc::Receiver<Vec<RawRow>>,
    sheet: &str,
) -> Result<Vec<u8>, XlsxExportError> {
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet_with_constant_memory()?;
    ws.set_name(sheet)?;
    for (c, h) in renderer.csv_header().iter().enumerate() {
        ws.write_string(0, c as u16, h)?;
        ws.set_column_width(c as u16, 16)?;
    }
    let types = renderer.types();
    let mut r: u32 = 0;
    while let Some(chunk) = rx.blocking_recv() {
        for row in &chunk {
            r += 1;
            if r as usize > MAX_ROWS {
                return Err(XlsxExportError::TooManyRows);
            }
            for (c, v) in row.iter().enumerate() {
                let Some(s) = v.as_deref() else { continue };
                let col = c as u16;
                match types[c] {
                    FieldType::Int | FieldType::Number => match s.parse::<f64>() {
                        Ok(n) => ws.write_number(r, col, n)?,
                        Err(_) => ws.write_string(r, col, s)?,
                    },
                    FieldType::Tags => ws.write_string(r, col, s.replace(',', "、"))?,
                    _ => ws.write_string(r, col, renderer.text(c, Some(s)))?,
                };
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}
