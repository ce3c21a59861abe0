/** The Azure portal of the cloud whose ARM endpoint is given (azure-cli cloud.py `portal` endpoints). */
const PORTALS: Record<string, string> = {
  'management.azure.com': 'https://portal.azure.com',
  'management.usgovcloudapi.net': 'https://portal.azure.us',
  'management.chinacloudapi.cn': 'https://portal.azure.cn',
};

export function portalAppUrl(armEndpoint: string, appId: string): string {
  const portal = PORTALS[new URL(armEndpoint).hostname] ?? PORTALS['management.azure.com'];
  return `${portal}/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/${appId}`;
}

/** Spot documents no deep link to an account's settings; the console's own account switcher takes it from there. */
export const SPOT_CONSOLE_URL = 'https://console.spotinst.com/';
