/** `detectors.command_interpreter` — T1059 Command and Scripting Interpreter: a shell or a new binary executed in a pod or on a host. */
export { commandInterpreter as commandInterpreterDetector, CommandInterpreterConfig } from './detector.ts';
