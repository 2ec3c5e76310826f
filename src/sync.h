#ifndef MTA_STS_SYNC_SYNC_H
#define MTA_STS_SYNC_SYNC_H
#endif
