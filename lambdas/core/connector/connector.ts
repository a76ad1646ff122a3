import type { Readable } from 'node:stream';
import type { NativeScore, Verdict, VendorId } from '../contracts/pipeline';
import type { VendorFindings } from '../contracts/findings';
import type { ConnectorContext } from './context';

/** A sample as a connector sees it: metadata plus a way to stream its bytes (never buffered whole). */
export interface SampleSource {
  fileName: string;
  size: number;
  sha256: string;
  fileType: string;
  mimeType: string;
  /** Opens a fresh stream of the sample's bytes. */
  open(): Promise<Readable>;
}

/** Where an analysis stands at the vendor. */
export interface ItemStatus {
  /** The report is ready to fetch. */
  done: boolean;
  /** The vendor ended the analysis without a report (failed, error, rejected). */
  failed: boolean;
  /** The vendor's own state name, for logs and reports. */
  state: string;
  /** The vendor's estimate of the seconds until the report is ready, when it gives one. */
  pollAfterSeconds?: number;
  /** Why the analysis failed, when it did. */
  reason?: string;
}

/** A native report, streamed as the vendor sends it. */
export interface NativeReport {
  body: Readable;
  contentType: string;
  /** File extension for the stored report: `json`, `xml`, `pdf`. */
  extension: string;
}

/** A vendor's score translated to Sandtrap's 0–100 scale, keeping the native value. */
export interface NormalisedScore {
  score: number | null;
  verdict: Verdict;
  native: NativeScore;
}

/** The calls whose requests a step reserves ahead. */
export type RequestCall = 'submit' | 'status' | 'report';

/**
 * How many HTTP requests each call makes at most, where more than one (a login before the upload,
 * a second endpoint for the report). Steps reserve that many slots of the vendor's rate; a request
 * beyond them takes a slot of its own or waits. The connector contract checks these on a full cycle.
 */
export type RequestCosts = Partial<Record<RequestCall, number>>;

/**
 * One interface over every sandbox, modelled on sandboxapi (`is_available`, `submit_sample`,
 * `check_item_status`, `report`, `score`, `delete_item`), with its known bugs fixed.
 */
export interface SandboxConnector {
  readonly id: VendorId;
  /** Requests per call where a call makes more than one; absent calls make one. */
  readonly requestCosts?: RequestCosts;
  /** True when the service answers and accepts our credentials. */
  available(): Promise<boolean>;
  /** Uploads the sample (streamed as multipart) and returns the vendor's item id. */
  submit(sample: SampleSource): Promise<string>;
  /** Seconds after submission before the first poll is worth making (the analysis time we asked for). */
  initialWaitSeconds(): number | undefined;
  /** Where the analysis stands. */
  status(itemId: string): Promise<ItemStatus>;
  /** The native report, as a stream. */
  report(itemId: string): Promise<NativeReport>;
  /** Scores a parsed native report (JSON object or XML text). Pure: no network. */
  score(report: unknown): NormalisedScore;
  /**
   * What the vendor concluded in a parsed native report (families, top signatures, ATT&CK ids,
   * hosts) and the link to its page for `itemId`, bounded. Pure: no network. Optional for stand-ins.
   */
  findings?(report: unknown, itemId: string): VendorFindings;
  /** Deletes the item at the vendor where the API allows it; false when it could not. */
  delete(itemId: string): Promise<boolean>;
}

/** Optional abilities a connector has beyond the common interface, shown by `sandtrap vendors`. */
export type ConnectorCapability =
  | 'delete'
  | 'queue-size'
  | 'pdf-report'
  | 'xml-report'
  | 'html-report'
  | 'environments'
  | 'token-auth'
  | 'webid-resolution'
  | 'top-analysis'
  | 'poll-hint';

/** A connector as the registry lists it. */
export interface ConnectorInfo {
  id: VendorId;
  /** Product name, e.g. `CAPEv2 (REST API v2)`. */
  name: string;
  capabilities: readonly ConnectorCapability[];
  /** Builds the connector from its context (configuration, resolved credentials, clock, request gate). */
  create(context: ConnectorContext): SandboxConnector;
}
