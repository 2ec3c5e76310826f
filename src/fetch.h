#ifndef MTA_STS_SYNC_FETCH_H
#define MTA_STS_SYNC_FETCH_H
#endif
