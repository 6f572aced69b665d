/** Address pools of a region and who holds what in them. */
export const privatePool = (region: string) => `genesis:${region}:private`;
/** Public addresses: instances' dynamic ones and floating IPs come from the same pool. */
export const publicPool = (region: string) => `genesis:${region}:public`;
/** Filesystem mount endpoints. */
export const storagePool = (region: string) => `genesis:${region}:storage`;
