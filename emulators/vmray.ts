import { BaseEmulator, type GatewayFault, htmlPage, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions, type MarkerVerdict } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.vmray;

/** Options of {@link VmrayEmulator}. */
export interface VmrayEmulatorOptions extends EmulatorOptions {
  /** The key the API requires as `Authorization: api_key …`. */
  apiKey: string;
  /** The platform writes `logs/summary_v2.json`; older ones only have the v1 `logs/summary.json`. @default true */
  summaryV2?: boolean;
  /** Largest upload accepted, in bytes (`webif_max_upload_size`). @default 200 MiB */
  maxUploadBytes?: number;
  /** Answer a resubmitted known sample with the error "No jobs were created" besides the submission, as some key caching modes do. */
  reportCachedAsError?: boolean;
}

interface Sample extends ReceivedFile {
  id: number;
  verdict: MarkerVerdict;
}

interface Submission {
  id: number;
  sample: Sample;
  createdAt: number;
  runSeconds: number;
  /** No jobs: VMRay served the submission from the sample's earlier analyses. */
  cached: boolean;
  failed: boolean;
}

interface Analysis {
  id: number;
  jobId: number;
  submission: Submission;
  vm: { name: string; description: string };
  verdict: 'clean' | 'suspicious' | 'malicious';
  vti: number;
}

/**
 * The analyses one submission produces for each test-marker verdict: one per VM, listed so that the
 * top-ranked analysis is never the first.
 */
const ANALYSES: Record<MarkerVerdict, { vm: string; verdict: Analysis['verdict']; vti: number }[]> = {
  malicious: [
    { vm: 'win7_64_sp1', verdict: 'suspicious', vti: 60 },
    { vm: 'win10_64', verdict: 'malicious', vti: 92 },
  ],
  suspicious: [
    { vm: 'win7_64_sp1', verdict: 'clean', vti: 20 },
    { vm: 'win10_64', verdict: 'suspicious', vti: 55 },
  ],
  benign: [
    { vm: 'win7_64_sp1', verdict: 'clean', vti: 5 },
    { vm: 'win10_64', verdict: 'clean', vti: 10 },
  ],
};

const VMS: Record<string, string> = { win7_64_sp1: 'Windows 7 SP1 (64 bit)', win10_64: 'Windows 10 (64 bit)' };
const SEVERITY: Record<Analysis['verdict'], string> = {
  clean: 'not_suspicious',
  suspicious: 'suspicious',
  malicious: 'malicious',
};
const RANK: Record<Analysis['verdict'], number> = { clean: 1, suspicious: 2, malicious: 3 };

const ok = (data: unknown): EmulatorResponse => ({ body: { result: 'ok', data } });
const fail = (status: number, message: string, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers,
  body: { result: 'error', error_msg: message },
});
const vmrayTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');

/** One `vti.match` of a v2 summary, with the fields a real one has (its `artifacts` lists empty). */
function vtiMatch(
  category: string,
  operation: string,
  technique: string,
  score: number,
  threatNames: string[] | null,
  ids: { category?: string; operation?: string; technique?: string; techniqueId?: string } = {},
) {
  const key = (text: string) => `_${text.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
  return {
    _type: 'vti.match',
    analysis_score: score,
    artifacts: {
      _type: 'vti.match.artifacts',
      domains: [],
      email_addresses: [],
      emails: [],
      filenames: [],
      files: [],
      ip_addresses: [],
      mutexes: [],
      processes: [],
      registry_records: [],
      urls: [],
    },
    category: ids.category ?? key(category),
    category_desc: category,
    classifications: threatNames ? [FINDINGS.family] : null,
    operation: ids.operation ?? key(operation),
    operation_desc: operation,
    ref_gfncalls: [],
    technique: ids.technique ?? `vmray${key(operation)}`,
    technique_desc: technique,
    technique_id: ids.techniqueId ?? 'sandtrap-marker',
    technique_type: 'built_in',
    technique_version: 1,
    threat_names: threatNames,
  };
}

/**
 * The malicious analysis' VTI matches: the three strongest of the real summary in
 * test/fixtures/vendors/vmray_summary_v2_eicar.json (`vti_match_22`, `_14`, `_5`), names, scores and
 * VMRay rule ids as captured.
 */
const REAL_MATCHES = [
  vtiMatch(
    'YARA',
    FINDINGS.signatures[0]!,
    'Rule "EICAR" from ruleset "Payloads" has matched on the downloaded file "http_eicar.com".',
    5,
    null,
    {
      category: '_yara',
      operation: '_yara_match_high',
      technique: 'vmray_yara_match_high',
      techniqueId: '492be3396ccb4a97814c1eac551d7ceb',
    },
  ),
  vtiMatch(
    'Reputation',
    FINDINGS.signatures[1]!,
    'Reputation analysis labels file "http_eicar.com" as "EICAR-Test-File (not a virus)".',
    4,
    ['EICAR-Test-File (not a virus)'],
    {
      category: '_reputation',
      operation: '_known_malicious_file',
      technique: 'vmray_known_malicious_file',
      techniqueId: '54a402cd60f3492b81903aa46c1149b2',
    },
  ),
  vtiMatch(
    'System Modification',
    'Disables a crucial system tool',
    '(Process #1) smoketester.exe disables the Command Prompt (CMD) and scripts via registry.',
    4,
    null,
    {
      category: '_system_modification',
      operation: '_disable_crucial_system_tool',
      technique: 'vmray_disable_cmd_and_scripts_by_registry',
      techniqueId: '81e2c923618947a88be31683d64b2f55',
    },
  ),
];

/** The real summary's `mitre_attack.v4.techniques`: keyed by the ATT&CK id, no id field inside. */
const REAL_TECHNIQUES = Object.fromEntries(
  FINDINGS.attack.map((id, i) => [
    `technique_${id}`,
    {
      _type: 'mitre_attack.v4.technique',
      description: ['System Network Configuration Discovery', 'Modify Registry'][i] ?? id,
      ref_vti_matches: [
        { _type: 'reference', path: ['vti', 'matches', `vti_match_${i}`], source: 'logs/summary_v2.json' },
      ],
      tactics: [['Discovery', 'Defense Evasion'][i] ?? 'Discovery'],
      technique_version: 1,
    },
  ]),
);

/**
 * VMRay's REST API on loopback: `/rest/...`, `Authorization: api_key <key>`, the `{"result", "data"}`
 * envelope and `{"result": "error", "error_msg"}` failures, `sample/submit` with a multipart
 * `sample_file` answering HTTP 200 even when it refuses (quota, unsupported type: `data.errors`, as in
 * the sandboxapi fixture), `system_info` answering any valid key (VMRay's own integrations, such as
 * splunk-soar-connectors/vmray, use it as their connectivity test), and analysis
 * archives with `summary_v2.json` and the v1 `summary.json`. Submissions finish on the given clock;
 * a known sample is served from its earlier analyses without new jobs (VMRay's analysis caching).
 */
export class VmrayEmulator extends BaseEmulator<VmrayEmulatorOptions> {
  readonly vendor = 'vmray' as const;
  private readonly samples = new Map<string, Sample>();
  private readonly submissionsById = new Map<number, Submission>();
  private readonly analyses: Analysis[] = [];
  private nextId = 1;

  constructor(options: VmrayEmulatorOptions) {
    super(options, { apiPath: '/rest/', credentials: options.apiKey });
  }

  private finishedAt(submission: Submission): number {
    if (submission.cached) return submission.createdAt;
    return this.timeline(submission.createdAt, submission.runSeconds).reportedAt;
  }

  private finished(submission: Submission): boolean {
    return this.options.clock.now() >= this.finishedAt(submission);
  }

  /** Analyses appear when their submission finishes. */
  private visibleAnalyses(filter: (a: Analysis) => boolean): Analysis[] {
    return this.analyses.filter((a) => filter(a) && this.finished(a.submission));
  }

  protected override keyRefused(req: EmulatorRequest): boolean {
    return req.headers.authorization !== `api_key ${this.options.apiKey}`;
  }

  protected override faultAnswer(fault: GatewayFault): EmulatorResponse | undefined {
    if (fault === 'bad-key') return fail(401, 'Authentication failed: invalid API key');
    if (fault === 'rate-limited') return fail(429, 'Too many requests, please retry later', { 'retry-after': '17' });
    if (fault === 'server-error') return htmlPage(503, '503 Service Unavailable');
    if (fault === 'malformed') return { body: { result: 'ok' } };
    return undefined;
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const path = req.url.pathname.replace(/^\/rest/, '');
    if (req.method === 'GET' && path === '/system_info') {
      return ok({
        api_items_per_request: 100,
        max_api_items: 1000,
        version: '2024.4.1',
        version_major: 2024,
        version_minor: 4,
        version_revision: 1,
        webif_alias: 'Emulator',
        webif_max_sample_size: this.maxUpload(),
        webif_max_upload_size: this.maxUpload(),
      });
    }
    if (req.method === 'POST' && path === '/sample/submit') return this.submit(req, fault);
    const submission = path.match(/^\/submission\/(\d+)$/);
    if (req.method === 'GET' && submission) {
      const found = this.submissionsById.get(Number(submission[1]));
      return found ? ok(this.submissionRecord(found)) : fail(404, 'No such submission');
    }
    const submissionsOfSample = path.match(/^\/submission\/sample\/(\d+)$/);
    if (req.method === 'GET' && submissionsOfSample) {
      const id = Number(submissionsOfSample[1]);
      return ok(
        [...this.submissionsById.values()].filter((s) => s.sample.id === id).map((s) => this.submissionRecord(s)),
      );
    }
    if (req.method === 'GET' && path === '/analysis') {
      const submissionId = Number(req.url.searchParams.get('analysis_submission_id'));
      return ok(this.visibleAnalyses((a) => a.submission.id === submissionId).map((a) => this.analysisRecord(a)));
    }
    const bySample = path.match(/^\/analysis\/sample\/(\d+)$/);
    if (req.method === 'GET' && bySample) {
      return ok(
        this.visibleAnalyses((a) => a.submission.sample.id === Number(bySample[1])).map((a) => this.analysisRecord(a)),
      );
    }
    const sample = path.match(/^\/sample\/(\d+)$/);
    if (req.method === 'GET' && sample) {
      const found = [...this.samples.values()].find((s) => s.id === Number(sample[1]));
      return found ? ok(this.sampleRecord(found)) : fail(404, 'No such sample');
    }
    const archive = path.match(/^\/analysis\/(\d+)\/archive\/logs\/(summary_v2\.json|summary\.json)$/);
    if (req.method === 'GET' && archive) {
      const analysis = this.analyses.find((a) => a.id === Number(archive[1]) && this.finished(a.submission));
      if (!analysis) return fail(404, 'No such analysis');
      if (archive[2] === 'summary_v2.json') {
        return this.options.summaryV2 === false
          ? fail(404, 'File logs/summary_v2.json not found in archive')
          : { body: this.summaryV2(analysis) };
      }
      return { body: this.summaryV1(analysis) };
    }
    return fail(404, 'Not found');
  }

  private maxUpload(): number {
    return this.options.maxUploadBytes ?? 200 * 1024 * 1024;
  }

  private async submit(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    if (fault === 'oversize' || req.body.length > this.maxUpload())
      return fail(400, `Sample file is larger than the maximum upload size (${this.maxUpload()} bytes)`);
    const form = await req.form();
    const file = form.get('sample_file');
    if (!(file instanceof File)) return fail(400, 'Missing parameter: sample_file or sample_url');
    const now = this.options.clock.now();
    const received = await this.receive(file);
    const encodedName = form.get('sample_filename_b64enc');
    const fileName = typeof encodedName === 'string' ? Buffer.from(encodedName, 'base64').toString('utf8') : file.name;
    let sample = this.samples.get(received.sha256);
    if (!sample) {
      sample = { ...received, id: 1_169_850 + this.samples.size, fileName, verdict: markerVerdict(received.content) };
      this.samples.set(received.sha256, sample);
    }
    const refusal =
      fault === 'quota'
        ? 'Denied: The vmray quota for account 100 (Sandtrap (Account)) is exceeded. (50/50 used, 1 requested)'
        : fault === 'unsupported'
          ? 'Sample type is not supported by any analyzer, no jobs were created'
          : undefined;
    const known = this.analyses.some((a) => a.submission.sample === sample && this.finished(a.submission));
    const notice =
      known && this.options.reportCachedAsError ? 'No jobs were created: the sample was analysed before' : undefined;
    const userConfig = JSON.parse(String(form.get('user_config') ?? '{}')) as { timeout?: number };
    const submission: Submission = {
      id: 1_374_306 + this.submissionsById.size,
      sample,
      createdAt: now,
      runSeconds: userConfig.timeout || (this.options.runSeconds ?? 120),
      cached: known,
      failed: fault === 'failed-analysis',
    };
    const jobs = refusal || known ? [] : ANALYSES[sample.verdict].map((planned) => ({ planned, jobId: this.nextId++ }));
    if (!refusal) {
      this.submissionsById.set(submission.id, submission);
      this.accepted();
      if (!submission.failed) {
        for (const { planned, jobId } of jobs) {
          this.analyses.push({
            id: 1_097_000 + jobId,
            jobId,
            submission,
            vm: { name: planned.vm, description: VMS[planned.vm] ?? planned.vm },
            verdict: planned.verdict,
            vti: planned.vti,
          });
        }
      }
    }
    return ok({
      errors: refusal || notice ? [{ error_msg: refusal ?? notice, submission_filename: fileName }] : [],
      jobs: jobs.map(({ planned, jobId }) => ({
        job_id: 1_097_200 + jobId,
        job_sample_id: sample.id,
        job_submission_id: submission.id,
        job_status: 'queued',
        job_tracking_state: '//waiting',
        job_type: 'full_analysis',
        job_vm_name: planned.vm,
        job_created: vmrayTime(now),
      })),
      md_jobs: [],
      reputation_jobs: [],
      samples: [this.sampleSubmitRecord(sample, fileName)],
      static_jobs: [],
      submissions: [{ ...this.submissionRecord(submission), submission_finished: false, submission_has_errors: null }],
      vt_jobs: [],
    });
  }

  private sampleSubmitRecord(sample: Sample, submittedName: string) {
    return {
      sample_created: vmrayTime(sample.submittedAt),
      sample_filename: sample.fileName,
      sample_filesize: sample.size,
      sample_id: sample.id,
      sample_is_multipart: false,
      sample_md5hash: sample.md5,
      sample_priority: 1,
      sample_sha1hash: sample.sha1,
      sample_sha256hash: sample.sha256,
      sample_type: 'JScript',
      sample_url: null,
      sample_webif_url: `https://cloud.vmray.com/user/sample/view?id=${sample.id}`,
      submission_filename: submittedName,
    };
  }

  private submissionRecord(submission: Submission) {
    const finished = this.finished(submission);
    return {
      submission_comment: null,
      submission_created: vmrayTime(submission.createdAt),
      submission_filename: submission.sample.fileName,
      submission_finish_time: finished ? vmrayTime(this.finishedAt(submission)) : null,
      submission_finished: finished,
      submission_has_errors: finished ? submission.failed : null,
      submission_id: submission.id,
      submission_priority: 1,
      submission_reputation_mode: 'auxiliary',
      submission_sample_id: submission.sample.id,
      submission_sample_sha256: submission.sample.sha256,
      submission_shareable: false,
      submission_tags: [],
      submission_type: 'api',
      submission_webif_url: `https://cloud.vmray.com/user/sample/view?id=${submission.sample.id}`,
    };
  }

  private analysisRecord(analysis: Analysis) {
    const { submission } = analysis;
    return {
      analysis_analyzer_name: 'vmray',
      analysis_configuration_name: 'default',
      analysis_created: vmrayTime(this.finishedAt(submission)),
      analysis_id: analysis.id,
      analysis_job_id: 1_097_200 + analysis.jobId,
      analysis_result_code: 1,
      analysis_result_str: 'Operation completed successfully',
      analysis_sample_id: submission.sample.id,
      analysis_sample_sha256: submission.sample.sha256,
      analysis_severity: SEVERITY[analysis.verdict],
      analysis_submission_id: submission.id,
      analysis_verdict: analysis.verdict,
      analysis_vm_name: analysis.vm.name,
      analysis_vti_score: analysis.vti,
      analysis_webif_url: `https://cloud.vmray.com/user/analysis/view?id=${analysis.id}`,
    };
  }

  private sampleRecord(sample: Sample) {
    const analyses = this.visibleAnalyses((a) => a.submission.sample === sample);
    const top = analyses.reduce<Analysis | undefined>(
      (best, a) =>
        !best || RANK[a.verdict] > RANK[best.verdict] || (RANK[a.verdict] === RANK[best.verdict] && a.vti > best.vti)
          ? a
          : best,
      undefined,
    );
    return {
      ...this.sampleSubmitRecord(sample, sample.fileName),
      sample_verdict: top?.verdict ?? 'not_available',
      sample_verdict_reason_description: top ? `Highest verdict among ${analyses.length} analyses` : null,
      sample_vti_score: top?.vti ?? null,
      sample_severity: top ? SEVERITY[top.verdict] : 'unknown',
      sample_classification: top?.verdict === 'malicious' ? ['Trojan'] : [],
    };
  }

  /**
   * `logs/summary_v2.json` in the shape of the real one in test/fixtures/vendors/vmray_summary_v2_eicar.json
   * (VMRay's own vmray-misp-feed test data): keyed `vti.matches` with `_type: "vti.match"`, the
   * category / operation / technique triples and the rule's `technique_id` (a VMRay id, not ATT&CK);
   * `mitre_attack.v4.techniques` keyed `technique_<ATT&CK id>` with no id inside; keyed `domains` and
   * `ip_addresses` flagged `is_ioc` (the resolver is listed too, and is not one).
   */
  private summaryV2(analysis: Analysis) {
    const { submission } = analysis;
    const malicious = analysis.verdict === 'malicious';
    const matches = malicious
      ? REAL_MATCHES
      : analysis.verdict === 'clean'
        ? []
        : [1, 2, 3].map((n) => ({
            ...vtiMatch('Test', 'Carries a Sandtrap test marker', 'Inert marker', 3, null),
            technique_id: `sandtrap-marker-${n}`,
          }));
    return {
      _type: 'summary',
      version: 2.1,
      analysis_metadata: {
        _type: 'analysis_metadata',
        analysis_duration: submission.runSeconds,
        analysis_id: analysis.id,
        creation_time: vmrayTime(this.finishedAt(submission)),
        is_execution_successful: true,
        number_of_processes: 1,
        result_code: 1,
        result_str: 'Operation completed successfully',
        sample_id: submission.sample.id,
        sample_type: 'JScript',
        submission_filename: submission.sample.fileName,
        termination_reason: 'Timeout',
        verdict: analysis.verdict,
      },
      virtual_machine: { _type: 'virtual_machine', name: analysis.vm.name, description: analysis.vm.description },
      vti: {
        _type: 'vti',
        built_in_rules_version: '4.2.0rc694',
        matches: Object.fromEntries(matches.map((m, i) => [`vti_match_${i}`, m])),
        score_type: 'default',
      },
      threat_names: malicious ? [FINDINGS.family, 'EICAR-Test-File (not a virus)'] : [],
      classifications: malicious ? [FINDINGS.family] : [],
      mitre_attack: {
        _type: 'mitre_attack',
        v4: {
          _type: 'mitre_attack.v4',
          matrix_version: '2019-04-25 20:53:07.719000',
          techniques: malicious ? REAL_TECHNIQUES : {},
        },
      },
      domains: malicious
        ? {
            domain_0: {
              _type: 'domain',
              classifications: [],
              domain: FINDINGS.hosts[0],
              is_artifact: true,
              is_ioc: true,
              original_domains: [FINDINGS.hosts[0]],
              protocols: ['HTTPS'],
              sources: ['function_log'],
              verdict: 'clean',
            },
          }
        : {},
      ip_addresses: {
        // The sandbox's resolver, listed as in a real summary and not an indicator.
        ip_address_0: {
          _type: 'ip_address',
          ip_address: '192.168.0.1',
          is_artifact: true,
          is_ioc: false,
          protocols: ['udp', 'dns'],
          sources: ['pcap'],
          verdict: 'clean',
        },
        ...(malicious
          ? {
              ip_address_5: {
                _type: 'ip_address',
                ip_address: FINDINGS.hosts[1],
                is_artifact: true,
                is_ioc: true,
                protocols: ['http', 'tcp'],
                sources: ['pcap', 'function_log'],
                verdict: 'clean',
              },
            }
          : {}),
      },
      processes: Object.fromEntries(
        Array.from({ length: 120 }, (_, i) => [
          `process_${i}`,
          {
            _type: 'process',
            monitor_id: i,
            os_pid: 1000 + i,
            image_name: `proc${i}.exe`,
            filename: `C:\\Windows\\proc${i}.exe`,
          },
        ]),
      ),
    };
  }

  /** The v1 `logs/summary.json`, shaped like the sandboxapi fixture. */
  private summaryV1(analysis: Analysis) {
    return {
      analysis_details: {
        creation_time: vmrayTime(this.finishedAt(analysis.submission)),
        execution_successful: true,
        termination_reason: 'timeout',
        type: 'analysis_details',
        version: 2,
      },
      artifacts: {},
      extracted_files: [],
      processes: [],
      remarks: {},
      sample_details: { sample_type: 'JScript' },
      type: '',
      version: 1,
      vm_and_analyzer_details: { vm_name: analysis.vm.name },
      vti: {
        type: 'vti',
        version: 1,
        vti_built_in_rules_version: '2.6',
        vti_rule_type: 'Default',
        vti_rule_matches: [],
        vti_score: analysis.vti,
      },
      yara: {},
    };
  }
}
