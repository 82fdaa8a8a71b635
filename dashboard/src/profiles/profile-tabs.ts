// The profile page's tabs: the router validates `?tab=` against them and the page renders them.
// Their own file so the router (which lazy-loads the page) and the page do not import each other.
export const PROFILE_TABS = ['draft', 'versions', 'snapshots', 'triggers'] as const;
export type ProfileTab = (typeof PROFILE_TABS)[number];
