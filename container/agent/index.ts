/** The detonation agent's public surface, for the local runtime and the tests. */
export { runDetonation, ReportUploadError, onAws, type DetonationRequest } from './detonate';
export { TransferError } from './fetch';
export { TraceParser, parseTraceFile, type TraceEvent, type TraceStats } from './trace-parser';
export { extractArchive, DEFAULT_EXTRACTION_LIMITS, type Extraction, type ExtractionLimits } from './archive';
