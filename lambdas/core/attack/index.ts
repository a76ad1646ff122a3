/** MITRE ATT&CK Enterprise: its tactics in kill-chain order, and the techniques Linux behaviour shows. */
export * from './tactics';
export * from './techniques';
