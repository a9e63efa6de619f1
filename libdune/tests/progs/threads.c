/* pthreads under Dune: each thread gets its own vCPU. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long mine;

static void *work(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		mine++;
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(mine + (long)arg);
}

int main(void)
{
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, work, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	long sum = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("counter=%ld tls_sum=%ld\n", counter, sum);
	return counter == THREADS * ROUNDS && sum == THREADS * ROUNDS + 6 ? 0 : 1;
}
