/**
 * The MITRE ATT&CK entries Peregrine's detectors name (ATT&CK v16 ids and names). One table, so a technique is
 * spelt the same on every finding and the ECS encoder can add the reference links.
 */
export interface AttackEntry {
  id: string;
  name: string;
}

export interface Threat {
  tactic: AttackEntry;
  technique: AttackEntry;
  subtechnique?: AttackEntry;
}

export const TACTICS = {
  reconnaissance: { id: 'TA0043', name: 'Reconnaissance' },
  initialAccess: { id: 'TA0001', name: 'Initial Access' },
  execution: { id: 'TA0002', name: 'Execution' },
  credentialAccess: { id: 'TA0006', name: 'Credential Access' },
  lateralMovement: { id: 'TA0008', name: 'Lateral Movement' },
  exfiltration: { id: 'TA0010', name: 'Exfiltration' },
  impact: { id: 'TA0040', name: 'Impact' },
} as const satisfies Record<string, AttackEntry>;

export const TECHNIQUES = {
  activeScanning: { id: 'T1595', name: 'Active Scanning' },
  wordlistScanning: { id: 'T1595.003', name: 'Wordlist Scanning' },
  commandInterpreter: { id: 'T1059', name: 'Command and Scripting Interpreter' },
  unixShell: { id: 'T1059.004', name: 'Unix Shell' },
  bruteForce: { id: 'T1110', name: 'Brute Force' },
  passwordGuessing: { id: 'T1110.001', name: 'Password Guessing' },
  passwordSpraying: { id: 'T1110.003', name: 'Password Spraying' },
  remoteServices: { id: 'T1021', name: 'Remote Services' },
  remoteDesktopProtocol: { id: 'T1021.001', name: 'Remote Desktop Protocol' },
  smbWindowsAdminShares: { id: 'T1021.002', name: 'SMB/Windows Admin Shares' },
  ssh: { id: 'T1021.004', name: 'SSH' },
  vnc: { id: 'T1021.005', name: 'VNC' },
  windowsRemoteManagement: { id: 'T1021.006', name: 'Windows Remote Management' },
  exfiltrationOverC2: { id: 'T1041', name: 'Exfiltration Over C2 Channel' },
  exfiltrationOverAlternativeProtocol: { id: 'T1048', name: 'Exfiltration Over Alternative Protocol' },
  resourceHijacking: { id: 'T1496', name: 'Resource Hijacking' },
  endpointDenialOfService: { id: 'T1499', name: 'Endpoint Denial of Service' },
  serviceExhaustionFlood: { id: 'T1499.002', name: 'Service Exhaustion Flood' },
} as const satisfies Record<string, AttackEntry>;

/** https://attack.mitre.org/techniques/T1110/003/ for T1110.003; tactics under /tactics/. */
export function attackReference(id: string): string {
  if (id.startsWith('TA')) return `https://attack.mitre.org/tactics/${id}/`;
  return `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`;
}
