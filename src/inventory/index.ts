/** The inventory stage: load (native YAML, Ansible INI/YAML), merge with the ssh client config, select hosts. */
export { expandHostRange, hasHostRange, MAX_RANGE_HOSTS, type RangeResult } from './host-range.js';
export {
  detectFormat,
  formatIssue,
  inventoryOrThrow,
  type LoadInventoryOptions,
  loadInventory,
  parseInventoryText,
  readInventoryFile,
} from './load.js';
export {
  type HostSelection,
  type SelectableInventory,
  type SelectionIssue,
  selectHosts,
  splitPattern,
} from './select.js';
export {
  type LocalContext,
  localContext,
  parseSshConfig,
  readSshConfig,
  type SshClientConfig,
  type SshConfigEntry,
} from './ssh-config.js';
export {
  type Checked,
  DEFAULT_LOG_PATH,
  DEFAULT_PORT,
  DEFAULT_TRANSPORT,
  type Inventory,
  type InventoryDefaults,
  type InventoryFormat,
  type InventoryGroup,
  type InventoryHost,
  type InventoryIssue,
  type InventorySource,
  type JumpHost,
  PASSWORD_ENV,
  type SettingSource,
  type Transport,
} from './types.js';
