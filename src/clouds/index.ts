import type { CloudModule } from '../http/cloud.js';
import { crusoeCloud } from './crusoe/index.js';
import { genesisCloud } from './genesis/index.js';

/** Every cloud Hangar serves. Adding a cloud is adding its folder and one line here. */
export const clouds: readonly CloudModule[] = [genesisCloud, crusoeCloud];
